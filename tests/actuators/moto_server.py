"""Pytest fixtures: moto in server mode on loopback, boto3 clients for it, and a fault server.

Registered for every test by the root conftest. Tests talk HTTP
to a real `moto.server.ThreadedMotoServer` (no moto decorators, no mocks). Dummy credentials and
region live in the environment only while the server fixture is up. `FaultServer` is a second
loopback HTTP server that answers every request with one canned response (a throttling body, a
500, a slow reply) so error handling can be tested over the wire as well.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
NO_RETRIES = Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=10)

ClientFactory = Callable[..., Any]


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """The URL of a moto server on 127.0.0.1 and a free port, for the whole session."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_SESSION_TOKEN", "testing")
        env.setenv("AWS_DEFAULT_REGION", REGION)
        env.setenv("AWS_CONFIG_FILE", "/nonexistent/ballast-tests")  # never a developer's profile
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/ballast-tests")
        env.delenv("AWS_PROFILE", raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@pytest.fixture
def aws(moto_server: str) -> ClientFactory:
    """`aws("autoscaling")`: a boto3 client for the moto server, whose state starts empty."""
    reset = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=10).close()

    def make_client(service: str, config: Config = NO_RETRIES) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=moto_server, config=config)

    return make_client


@dataclass
class FaultServer:
    """Answers every request with `status`, `headers` and `body`, after `delay_s`."""

    url: str = ""
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay_s: float = 0.0
    requests: int = 0

    def respond(
        self,
        status: int,
        body: bytes | str = b"",
        headers: dict[str, str] | None = None,
        delay_s: float = 0.0,
    ) -> None:
        """Set the canned response."""
        self.status, self.delay_s = status, delay_s
        self.body = body.encode() if isinstance(body, str) else body
        self.headers = headers or {}

    def client(self, service: str, read_timeout_s: float = 5.0) -> Any:
        """A boto3 client aimed at this server, without retries."""
        config = Config(
            retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=read_timeout_s
        )
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.url,
            config=config,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def _handler(fault: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fault.requests += 1
            time.sleep(fault.delay_s)
            try:
                self.send_response(fault.status)
                for name, value in fault.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(fault.body)))
                self.end_headers()
                self.wfile.write(fault.body)
            except OSError:  # the client gave up (a timeout test): nobody to answer
                pass

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Keep the test output quiet."""

    return Handler


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    """A loopback HTTP server that answers what the test tells it to."""
    fault = FaultServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fault))
    server.daemon_threads = True
    host, port = server.server_address[:2]
    fault.url = f"http://{host}:{port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fault
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
