"""One HTTP POST to a webhook endpoint, reduced to the status code or the error that stopped it.

The standard library's urllib is enough here (and `requests` is not a pinned dependency).
Redirects are not followed: a POST silently turned into a GET, or sent to a host the team never
registered, is worse than a failure that tells the team to fix the URL.

Hosts that resolve to loopback, private, link-local (the cloud metadata service) or otherwise
reserved addresses are refused unless the operator allows them (`BALLAST_WEBHOOK_ALLOW_PRIVATE`),
so that a team member cannot make Ballast's workers call internal services. The address is
checked when the delivery is sent; a name that changes its address between that check and the
connection (DNS rebinding) is not caught.
"""

import http.client
import ipaddress
import socket
import urllib.error
import urllib.request
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


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx code


_opener = urllib.request.build_opener(_RefuseRedirects)


def non_public_address(url: str) -> str | None:
    """The first non-public address the URL's host resolves to, or None if all are public."""
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return None  # unresolvable: the POST itself will fail and say so
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return str(address)
    return None


def post_bytes(
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    timeout_s: float,
    allow_private: bool = False,
) -> PostOutcome:
    """POST `body` as it is; `timeout_s` bounds the connect and each read."""
    if not allow_private and (address := non_public_address(url)):
        return PostOutcome(
            None,
            f"refused: {urlsplit(url).hostname} resolves to {address}, not a public address "
            "(the operator may allow private addresses with BALLAST_WEBHOOK_ALLOW_PRIVATE)",
            refused=True,
        )
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=timeout_s) as response:
            response.read(MAX_ERROR_CHARS)
            return PostOutcome(response.status)
    except urllib.error.HTTPError as exc:  # a non-2xx answer, still an answer
        error = f"HTTP {exc.code}: {_read_excerpt(exc)}".strip()
        return PostOutcome(exc.code, error[:MAX_ERROR_CHARS])
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
        reason = getattr(exc, "reason", exc)
        return PostOutcome(None, f"{type(exc).__name__}: {reason}"[:MAX_ERROR_CHARS])


def _read_excerpt(response) -> str:
    """The start of an error response's body, for the delivery's last_error."""
    try:
        return response.read(MAX_ERROR_CHARS).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        return ""
    finally:
        response.close()
