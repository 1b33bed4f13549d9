"""Non-public webhook addresses are refused unless allowed; deliveries go to checked addresses."""

import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
import trustme

from apps.webhooks import transport


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/hook",
    ],
)
def test_non_public_addresses_are_refused_without_sending(url):
    outcome = transport.post_bytes(url, body=b"{}", headers={}, timeout_s=1)
    assert outcome.refused and not outcome.retryable and outcome.status_code is None
    assert "not a public address" in outcome.error


def test_the_operator_may_allow_them():
    outcome = transport.post_bytes(
        "http://127.0.0.1:9/hook", body=b"{}", headers={}, timeout_s=1, allow_private=True
    )
    assert not outcome.refused and outcome.retryable  # sent, and the connection was refused


@pytest.fixture
def resolver(monkeypatch):
    """Answers for names, in order per lookup (the last one repeats); records each lookup."""
    answers: dict[str, list[list[str]]] = {}
    lookups: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        addresses = answers[host].pop(0) if len(answers[host]) > 1 else answers[host][0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port or 0)) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return SimpleNamespace(answers=answers, lookups=lookups)


def test_a_name_rebound_to_loopback_after_the_check_is_not_reached(resolver, monkeypatch):
    # First a public address, then loopback: the DNS rebinding trick. The connection must go
    # to the checked public address; this sandbox cannot serve one, so the attempt is recorded
    # (a stand-in for the network, not for the code under test).
    resolver.answers["hook.example"] = [["93.184.215.14"], ["127.0.0.1"]]
    attempts = []

    def create_connection(address, timeout=None, *args):
        attempts.append(address)
        raise ConnectionRefusedError("recorded, not sent")

    monkeypatch.setattr(socket, "create_connection", create_connection)
    outcome = transport.post_bytes(
        "http://hook.example:8080/hook", body=b"{}", headers={}, timeout_s=1
    )
    assert attempts == [("93.184.215.14", 8080)] and resolver.lookups == ["hook.example"]
    assert not outcome.delivered and outcome.retryable


def test_https_goes_to_the_checked_address_and_verifies_the_certificate_for_the_name(resolver):
    authority = trustme.CA()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    authority.issue_cert("hook.test").configure_cert(tls := ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    client = ssl.create_default_context()
    authority.configure_trust(client)
    # Pinned to 127.0.0.1 at the check; later lookups would give an address nothing serves.
    resolver.answers["hook.test"] = [["127.0.0.1"], ["127.0.0.2"]]
    resolver.answers["other.test"] = [["127.0.0.1"]]
    try:
        sent = transport.post_bytes(
            f"https://hook.test:{port}/hook?team=a",
            body=b'{"event": "plan.proposed"}',
            headers={"Content-Type": "application/json"},
            timeout_s=5,
            allow_private=True,
            tls_context=client,
        )
        wrong_name = transport.post_bytes(
            f"https://other.test:{port}/hook",
            body=b"{}",
            headers={},
            timeout_s=5,
            allow_private=True,
            tls_context=client,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert sent.delivered, sent.error
    assert _Ok.seen == [("/hook?team=a", f"hook.test:{port}", b'{"event": "plan.proposed"}')]
    assert not wrong_name.delivered and "CERTIFICATE_VERIFY_FAILED" in wrong_name.error


class _Ok(BaseHTTPRequestHandler):
    seen: list = []

    def do_POST(self):  # the name http.server looks for
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Ok.seen.append((self.path, self.headers["Host"], body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format, *args):
        pass
