"""A real HTTP receiver on 127.0.0.1 that checks signatures with the documented recipe."""

import inspect
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.webhooks import signing


def documented_verify():
    """The `verify` function from sign_body's docstring, run exactly as a receiver would copy it."""
    code = inspect.getdoc(signing.sign_body).split("```python\n")[1].split("```")[0]
    namespace: dict = {}
    exec(code, namespace)  # our own docstring, not input
    return namespace["verify"]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool


@dataclass
class Receiver:
    """Answers each POST with the next of `statuses` (200 once they run out)."""

    url: str
    secret: str = ""
    statuses: list[int] = field(default_factory=list)
    delay_s: float = 0.0
    requests: list[Received] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # the name http.server looks for
        receiver: Receiver = self.server.receiver
        body = self.rfile.read(int(self.headers["Content-Length"]))
        signature_ok = documented_verify()(receiver.secret, self.headers, body)
        receiver.requests.append(Received(self.path, dict(self.headers), body, signature_ok))
        if receiver.delay_s:
            threading.Event().wait(receiver.delay_s)
        code = receiver.statuses.pop(0) if receiver.statuses else 200
        if code == 200 and not signature_ok:
            code = 401
        self.send_response(code)
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.write(b"done")

    def log_message(self, format, *args):
        pass  # keep test output quiet


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    host, port = server.server_address
    server.receiver = Receiver(url=f"http://{host}:{port}/hooks/ballast")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.receiver
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def allow_loopback_receivers(settings):
    """The receivers here listen on 127.0.0.1, which production refuses by default."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
