"""One HTTP POST to a webhook endpoint, reduced to the status code or the error that stopped it.

Redirects are not followed: a POST silently turned into a GET, or sent to a host the team never
registered, is worse than a failure that tells the team to fix the URL.

Hosts that resolve to loopback, private, link-local (the cloud metadata service) or otherwise
reserved addresses are refused unless the operator allows them (`BALLAST_WEBHOOK_ALLOW_PRIVATE`),
so that a team member cannot make Ballast's workers call internal services. The name is resolved
once per delivery and the connection goes to the addresses that were checked (TLS still verifies
the certificate against the name), so a name that changes its address between the check and the
connection (DNS rebinding) cannot reach an internal service either.

The standard library's `http.client` is enough here (and `requests` is not a pinned dependency).
"""

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class PostOutcome:
    """What came back: an HTTP status, or None with the error when no response arrived."""

    status_code: int | None
    error: str = ""
    refused: bool = False  # never sent: the address is not allowed

    @property
    def delivered(self) -> bool:
        """A 2xx answer."""
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        """Timeouts, connection errors, 408, 429 and 5xx may heal; other answers will not."""
        code = self.status_code
        if self.refused:
            return False
        return code is None or code in (408, 429) or code >= 500


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to addresses resolved and checked beforehand, not to what the name gives now."""

    def __init__(self, host: str, port: int, *, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.addresses = addresses

    def connect(self) -> None:
        self.sock = _connect_first(self.addresses, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As `_PinnedHTTPConnection`, with TLS verified against the URL's host name."""

    def __init__(
        self, host: str, port: int, *, addresses: list[str], timeout: float, context
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self.addresses = addresses
        self.tls = context

    def connect(self) -> None:
        sock = _connect_first(self.addresses, self.port, self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def _connect_first(addresses: list[str], port: int, timeout: float) -> socket.socket:
    """A socket to the first of `addresses` that accepts, as `socket.create_connection` tries."""
    error: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            error = exc
    raise error or OSError("no address to connect to")


def resolve(host: str) -> list[str]:
    """Every address `host` resolves to for TCP, in the resolver's order, without repeats."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(info[4][0] for info in infos))


def post_bytes(
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    timeout_s: float,
    allow_private: bool = False,
    tls_context: ssl.SSLContext | None = None,
) -> PostOutcome:
    """POST `body` as it is; `timeout_s` bounds the connect and each read.

    `tls_context` defaults to the system's trusted certificates with host name checks.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        addresses = resolve(host)
    except OSError as exc:
        return PostOutcome(None, f"cannot resolve {host}: {exc}"[:MAX_ERROR_CHARS])
    private = [a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_global]
    if private and not allow_private:
        return PostOutcome(
            None,
            f"refused: {host} resolves to {private[0]}, not a public address "
            "(the operator may allow private addresses with BALLAST_WEBHOOK_ALLOW_PRIVATE)",
            refused=True,
        )
    if parts.scheme == "https":
        connection = _PinnedHTTPSConnection(
            host,
            parts.port or 443,
            addresses=addresses,
            timeout=timeout_s,
            context=tls_context or ssl.create_default_context(),
        )
    else:
        connection = _PinnedHTTPConnection(
            host, parts.port or 80, addresses=addresses, timeout=timeout_s
        )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(MAX_ERROR_CHARS).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, TLS failures
        return PostOutcome(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS])
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return PostOutcome(response.status)
    # A non-2xx answer is still an answer; a 3xx is not followed (see above).
    error = f"HTTP {response.status}: {excerpt}".strip()
    return PostOutcome(response.status, error[:MAX_ERROR_CHARS])
