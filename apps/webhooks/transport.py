"""One HTTP POST to a webhook endpoint, reduced to the status code or the error that stopped it.

The standard library's urllib is enough here (and `requests` is not a pinned dependency).
Redirects are not followed: a POST silently turned into a GET, or sent to a host the team never
registered, is worse than a failure that tells the team to fix the URL.
"""

import http.client
import urllib.error
import urllib.request
from dataclasses import dataclass

MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class PostOutcome:
    """What came back: an HTTP status, or None with the error when no response arrived."""

    status_code: int | None
    error: str = ""

    @property
    def delivered(self) -> bool:
        """A 2xx answer."""
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        """Timeouts, connection errors, 408, 429 and 5xx may heal; other answers will not."""
        code = self.status_code
        return code is None or code in (408, 429) or code >= 500


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx code


_opener = urllib.request.build_opener(_RefuseRedirects)


def post_bytes(url: str, *, body: bytes, headers: dict[str, str], timeout_s: float) -> PostOutcome:
    """POST `body` as it is; `timeout_s` bounds the connect and each read."""
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
