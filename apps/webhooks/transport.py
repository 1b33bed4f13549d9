"""One HTTP POST to a webhook endpoint, reduced to the status code or the error that stopped it.

Redirects are not followed: a POST silently turned into a GET, or sent to a host the team never
registered, is worse than a failure that tells the team to fix the URL.

Hosts that resolve to loopback, private, link-local (the cloud metadata service) or otherwise
reserved addresses are refused unless the operator allows them (`BALLAST_WEBHOOK_ALLOW_PRIVATE`),
so that a team member cannot make Ballast's workers call internal services. The name is resolved
once per delivery and the connection goes to the addresses that were checked (TLS still verifies
the certificate against the name), so a name that changes its address between the check and the
connection (DNS rebinding) cannot reach an internal service either.

The whole exchange (connect, TLS, sending, the answer's status line, headers and the excerpt read)
ends within one wall-clock deadline: every read is given only the time left before it, so a
receiver that drips a byte at a time cannot hold a worker longer than `timeout_s` (a per-read
timeout alone would let it, each byte arriving in time). Name resolution is left to the system
resolver's own timeouts.

The standard library's `http.client` is enough here (and `requests` is not a pinned dependency).
"""

import http.client
import io
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from functools import partial
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


class Deadline:
    """A point in time (the monotonic clock) that the whole exchange must end by."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left; TimeoutError once none are."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"timed out: no complete answer within {self.seconds:g} s")
        return left


class _DeadlineReader(io.RawIOBase):
    """A socket file's bytes, each read given only the time left before the deadline."""

    def __init__(self, raw, sock: socket.socket, deadline: Deadline) -> None:
        super().__init__()
        self.raw = raw  # the socket file http.client opened: it keeps the socket open
        self.sock = sock
        self.deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        self.sock.settimeout(self.deadline.left())
        try:
            return self.raw.readinto(buffer)
        except TimeoutError:
            self.deadline.left()  # raises with the deadline's message when it has passed
            raise

    def close(self) -> None:
        self.raw.close()
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    """An HTTP response read through `_DeadlineReader`."""

    def __init__(self, sock: socket.socket, *args, deadline: Deadline, **kwargs) -> None:
        super().__init__(sock, *args, **kwargs)
        raw = self.fp.detach()  # nothing read yet: its buffer is empty
        self.fp = io.BufferedReader(_DeadlineReader(raw, sock, deadline))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to addresses resolved and checked beforehand, not to what the name gives now."""

    def __init__(self, host: str, port: int, *, addresses: list[str], deadline: Deadline) -> None:
        super().__init__(host, port, timeout=deadline.seconds)
        self.addresses = addresses
        self.deadline = deadline
        self.response_class = partial(_DeadlineResponse, deadline=deadline)  # type: ignore[assignment]

    def connect(self) -> None:
        self.sock = _connect_first(self.addresses, self.port, self.deadline)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As `_PinnedHTTPConnection`, with TLS verified against the URL's host name."""

    def __init__(
        self, host: str, port: int, *, addresses: list[str], deadline: Deadline, context
    ) -> None:
        super().__init__(host, port, timeout=deadline.seconds, context=context)
        self.addresses = addresses
        self.deadline = deadline
        self.tls = context
        self.response_class = partial(_DeadlineResponse, deadline=deadline)  # type: ignore[assignment]

    def connect(self) -> None:
        sock = _connect_first(self.addresses, self.port, self.deadline)
        # The handshake as a whole is bounded by the socket's timeout (CPython's ssl module).
        sock.settimeout(self.deadline.left())
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        # Sending the request: sendall's timeout bounds the whole send.
        self.sock.settimeout(self.deadline.left())


def _connect_first(addresses: list[str], port: int, deadline: Deadline) -> socket.socket:
    """A socket to the first of `addresses` that accepts, as `socket.create_connection` tries."""
    error: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), deadline.left())
        except TimeoutError as exc:
            error = exc
            deadline.left()  # no time left for the next address
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
    """POST `body` as it is; the whole exchange ends within `timeout_s` (module docstring).

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
    deadline = Deadline(timeout_s)  # after resolving: the system resolver has its own timeouts
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = _PinnedHTTPSConnection(
            host,
            parts.port or 443,
            addresses=addresses,
            deadline=deadline,
            context=tls_context or ssl.create_default_context(),
        )
    else:
        connection = _PinnedHTTPConnection(
            host, parts.port or 80, addresses=addresses, deadline=deadline
        )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        if 200 <= response.status < 300:
            return PostOutcome(response.status)  # delivered: its body is not read
        excerpt = _excerpt(response)
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, TLS failures
        return PostOutcome(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS])
    finally:
        connection.close()
    # A non-2xx answer is still an answer; a 3xx is not followed (see above).
    error = f"HTTP {response.status}: {excerpt}".strip()
    return PostOutcome(response.status, error[:MAX_ERROR_CHARS])


def _excerpt(response: http.client.HTTPResponse) -> str:
    """The start of an error answer's body, or why it could not be read before the deadline."""
    try:
        return response.read(MAX_ERROR_CHARS).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        return f"(body cut off: {type(exc).__name__}: {exc})"
