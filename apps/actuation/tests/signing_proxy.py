"""A loopback HTTP proxy in front of moto that records which access key signed each request.

SigV4 names the signer in the Authorization header (`Credential=<key id>/<date>/<region>/
<service>/aws4_request`), so the proxy shows, per AWS service, whose credentials a request
carried, as the real endpoint would see them. Answers are moto's, passed through unchanged.
"""

from __future__ import annotations

import http.client
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/[^/]+/([^/]+)/aws4_request")


@dataclass
class SigningProxy:
    """Forwards to `upstream`; `signed` holds (service, access key id, body) per request."""

    upstream: str
    url: str = ""
    signed: list[tuple[str, str, str]] = field(default_factory=list)

    def key_ids(self, service: str) -> set[str]:
        """The access key ids that signed requests to `service`."""
        return {key for name, key, _ in self.signed if name == service}


def start_proxy(upstream: str) -> tuple[SigningProxy, ThreadingHTTPServer]:
    """A running proxy to `upstream` and its server (call `shutdown()` on it)."""
    proxy = SigningProxy(upstream)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    server.daemon_threads = True
    host, port = server.server_address[:2]
    proxy.url = f"http://{host}:{port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return proxy, server


def _handler(proxy: SigningProxy) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(proxy.upstream)

    class Handler(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            found = CREDENTIAL.search(self.headers.get("Authorization", ""))
            if found:
                proxy.signed.append((found[2], found[1], body.decode(errors="replace")))
            upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
            upstream.request(self.command, self.path, body=body, headers=dict(self.headers))
            answer = upstream.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            upstream.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Keep the test output quiet."""

    return Handler
