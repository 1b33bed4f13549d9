"""A client for the Prometheus HTTP API's range queries: plain data in, plain data out.

Only `GET /api/v1/query_range` is used. Every way a query can go wrong (timeout, no
connection, HTTP error, an answer that is not JSON, Prometheus's own error, a result that is not
a matrix, no data, several series where one is expected, NaN or infinite values) raises a
`PrometheusError` subclass whose message says what happened and, where it can, what to change.

NaN and ±Inf are refused, not skipped: Prometheus answers "NaN" for 0/0 (a rate ratio or a
`histogram_quantile` with no traffic), and storing a gap silently would hide a broken query. The
error counts them and names the PromQL filter that drops them: `(...) > -Inf < +Inf`.

Bodies of answers that are not Prometheus's are never quoted back (only their status, type and
size): the URL is user-supplied, and its answers must not leak through error messages.
The standard library's urllib is enough here (`requests` is not a pinned dependency).
"""

import http.client
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, TypeGuard

# Prometheus refuses a range query when (end - start) / step exceeds this (web/api/v1/api.go).
MAX_POINTS_PER_SERIES = 11_000
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
MAX_ERROR_CHARS = 500


class PrometheusError(Exception):
    """A range query that gave no usable series; the message says why."""


class PrometheusTimeout(PrometheusError):
    """No complete answer within the timeout."""


class PrometheusUnreachable(PrometheusError):
    """No connection, or the connection broke."""


class PrometheusHTTPError(PrometheusError):
    """A non-2xx answer that is not a Prometheus error object (a proxy, a wrong URL)."""

    def __init__(self, message: str, status_code: int):
        super().__init__(message)
        self.status_code = status_code


class PrometheusQueryError(PrometheusError):
    """Prometheus's own `{"status": "error", "errorType": ..., "error": ...}` answer."""

    def __init__(self, message: str, error_type: str):
        super().__init__(message)
        self.error_type = error_type


class PrometheusBadResponse(PrometheusError):
    """An answer that is not the documented JSON: garbage, a wrong shape, a non-matrix result."""


class PrometheusNoData(PrometheusError):
    """The query returned no series over the whole range."""


class PrometheusAmbiguousResult(PrometheusError):
    """Several series where the caller needs exactly one."""


class PrometheusNonFiniteValues(PrometheusError):
    """NaN or ±Inf values in the result."""


@dataclass(frozen=True)
class Series:
    """One time series of a matrix result; `timestamps_s` (unix seconds) strictly increase."""

    labels: Mapping[str, str]
    timestamps_s: tuple[float, ...]
    values: tuple[float, ...]


def query_range(
    base_url: str,
    promql: str,
    start: datetime,
    end: datetime,
    step_s: float,
    timeout_s: float = 10.0,
    headers: Mapping[str, str] | None = None,
) -> list[Series]:
    """Evaluate `promql` at `start`, `start + step_s`, ... up to `end` (inclusive).

    Ranges of more than `MAX_POINTS_PER_SERIES` points are asked for in consecutive chunks and
    joined. `timeout_s` bounds the connect and each read of each chunk. `headers` are sent as
    they are (e.g. `Authorization: Bearer ...`). Redirects are refused, so a token never
    follows one to another host.

    Returns:
        Every series, values finite. Raises a `PrometheusError` subclass when no series came
        back or any value is NaN or infinite.
    """
    if not step_s > 0:
        raise ValueError(f"step_s must be > 0, got {step_s}")
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    merged: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    for chunk_start_s, chunk_end_s in _chunks(start.timestamp(), end.timestamp(), step_s):
        params = {
            "query": promql,
            "start": _format_number(chunk_start_s),
            "end": _format_number(chunk_end_s),
            "step": _format_number(step_s),
        }
        answer = _get_json(base_url, params, timeout_s, headers or {})
        for labels, pairs in _parse_matrix(answer, base_url):
            merged.setdefault(tuple(sorted(labels.items())), []).extend(pairs)
    if not merged:
        raise PrometheusNoData(
            f"the query returned no data from {_iso(start.timestamp())} to "
            f"{_iso(end.timestamp())}: check "
            "the metric and label names, and that Prometheus scrapes the workload"
        )
    series = [_build_series(dict(key), pairs) for key, pairs in merged.items()]
    _refuse_non_finite(series)
    return series


def query_one_series(
    base_url: str,
    promql: str,
    start: datetime,
    end: datetime,
    step_s: float,
    timeout_s: float = 10.0,
    headers: Mapping[str, str] | None = None,
) -> Series:
    """`query_range` for a query that must return exactly one series (an aggregation)."""
    series = query_range(base_url, promql, start, end, step_s, timeout_s, headers)
    if len(series) > 1:
        shown = ", ".join(_format_labels(s.labels) for s in series[:3])
        more = f" and {len(series) - 3} more" if len(series) > 3 else ""
        raise PrometheusAmbiguousResult(
            f"the query returned {len(series)} series ({shown}{more}) but must return one: "
            "aggregate it, e.g. sum(...) or max(...) without a `by` clause"
        )
    return series[0]


def check_brackets(promql: str) -> None:
    """Raise ValueError naming the first unbalanced (, [, { or unterminated string.

    A cheap syntax check for forms: strings ("...", '...', `...`) and # comments are skipped.
    """
    closing = {")": "(", "]": "[", "}": "{"}
    stack: list[tuple[str, int]] = []
    quote, escaped, in_comment = "", False, False
    for index, char in enumerate(promql, start=1):
        if in_comment:
            in_comment = char != "\n"
        elif quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote != "`":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'`":
            quote = char
        elif char == "#":
            in_comment = True
        elif char in "([{":
            stack.append((char, index))
        elif char in closing:
            if not stack or stack[-1][0] != closing[char]:
                raise ValueError(f"{char!r} at character {index} closes nothing")
            stack.pop()
    if quote:
        raise ValueError(f"a string opened with {quote} is never closed")
    if stack:
        raise ValueError(f"{stack[-1][0]!r} at character {stack[-1][1]} is never closed")


def _chunks(start_s: float, end_s: float, step_s: float) -> Iterator[tuple[float, float]]:
    """Consecutive ranges of at most MAX_POINTS_PER_SERIES points on the grid of `start_s`."""
    span_s = (MAX_POINTS_PER_SERIES - 1) * step_s
    chunk_start_s = start_s
    while chunk_start_s <= end_s:
        chunk_end_s = min(chunk_start_s + span_s, end_s)
        yield chunk_start_s, chunk_end_s
        chunk_start_s = chunk_end_s + step_s


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> None:
        return None  # urllib then raises HTTPError with the 3xx code


_opener = urllib.request.build_opener(_RefuseRedirects)


def _get_json(
    base_url: str, params: Mapping[str, str], timeout_s: float, headers: Mapping[str, str]
) -> object:
    url = f"{base_url.rstrip('/')}/api/v1/query_range?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(url, headers={"Accept": "application/json", **headers})
    try:
        with _opener.open(request, timeout=timeout_s) as response:
            body = response.read(MAX_RESPONSE_BYTES + 1)
            content_type = response.headers.get("Content-Type", "no content type")
    except urllib.error.HTTPError as exc:
        raise _http_error(exc, base_url) from None
    except TimeoutError:
        raise PrometheusTimeout(_timeout_message(base_url, timeout_s)) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise PrometheusTimeout(_timeout_message(base_url, timeout_s)) from None
        raise PrometheusUnreachable(f"cannot connect to {base_url}: {exc.reason}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise PrometheusUnreachable(
            f"the connection to {base_url} failed: {type(exc).__name__}: {exc}"
        ) from None
    if len(body) > MAX_RESPONSE_BYTES:
        raise PrometheusBadResponse(
            f"the answer from {base_url} is over {MAX_RESPONSE_BYTES // 2**20} MiB: the query "
            "returns too many series or points; aggregate it"
        )
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PrometheusBadResponse(
            f"the answer from {base_url} is not JSON ({content_type}, {len(body)} bytes): "
            "is base_url the address of a Prometheus server?"
        ) from None


def _timeout_message(base_url: str, timeout_s: float) -> str:
    return (
        f"{base_url} did not answer within {timeout_s:g} s: the server is overloaded or the "
        "query too expensive (a larger step or a recording rule helps)"
    )


def _http_error(exc: urllib.error.HTTPError, base_url: str) -> PrometheusError:
    """Prometheus's error object when the body is one; otherwise the status alone."""
    try:
        body = exc.read(64 * 1024)
    except (OSError, http.client.HTTPException):
        body = b""
    finally:
        exc.close()
    if 300 <= exc.code < 400:
        return PrometheusHTTPError(
            f"{base_url} redirected (HTTP {exc.code}) to {exc.headers.get('Location', '?')}: "
            "set base_url to the address Prometheus answers at (redirects are not followed)",
            exc.code,
        )
    try:
        answer = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        answer = None
    if _is_error_object(answer):
        return _query_error(answer, f"HTTP {exc.code}")
    return PrometheusHTTPError(f"{base_url} answered HTTP {exc.code} {exc.reason}", exc.code)


def _is_error_object(answer: object) -> TypeGuard[dict[str, Any]]:
    return isinstance(answer, dict) and answer.get("status") == "error" and "error" in answer


def _query_error(answer: Mapping[str, Any], where: str) -> PrometheusQueryError:
    error_type = str(answer.get("errorType", "unknown"))
    error = str(answer["error"])[:MAX_ERROR_CHARS]
    return PrometheusQueryError(
        f"Prometheus refused the query ({where}, {error_type}): {error}", error_type
    )


def _parse_matrix(
    answer: object, base_url: str
) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
    if _is_error_object(answer):
        raise _query_error(answer, "status error")
    if not isinstance(answer, dict) or answer.get("status") != "success":
        raise PrometheusBadResponse(
            f"the answer from {base_url} is JSON without status 'success' or 'error': "
            "is base_url the address of a Prometheus server?"
        )
    data = answer.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("result"), list):
        raise PrometheusBadResponse(f"the answer from {base_url} has no data.result list")
    if data.get("resultType") != "matrix":
        raise PrometheusBadResponse(
            f"the result is a {data.get('resultType')!r}, not a 'matrix': a range query over an "
            "instant or range vector expression gives a matrix"
        )
    return [_parse_item(item, index) for index, item in enumerate(data["result"])]


def _parse_item(item: object, index: int) -> tuple[dict[str, str], list[tuple[float, float]]]:
    where = f"data.result[{index}]"
    if not isinstance(item, dict) or not isinstance(item.get("metric"), dict):
        raise PrometheusBadResponse(f"{where} is not an object with a 'metric' object")
    if "values" not in item and "histograms" in item:
        raise PrometheusBadResponse(
            f"{where} holds native histogram samples: query a float, e.g. histogram_quantile(...)"
        )
    if not isinstance(item.get("values"), list):
        raise PrometheusBadResponse(f"{where}.values is not a list")
    pairs = []
    for position, pair in enumerate(item["values"]):
        try:
            timestamp_s, raw_value = pair
            if not isinstance(raw_value, str) or isinstance(timestamp_s, bool):
                raise TypeError
            pairs.append((float(timestamp_s), float(raw_value)))
        except (TypeError, ValueError):
            raise PrometheusBadResponse(
                f'{where}.values[{position}] is not [unix_time, "value"]: {pair!r:.80}'
            ) from None
    return {str(k): str(v) for k, v in item["metric"].items()}, pairs


def _build_series(labels: dict[str, str], pairs: list[tuple[float, float]]) -> Series:
    pairs.sort()
    for (before, _), (after, _) in zip(pairs, pairs[1:], strict=False):
        if after == before:
            raise PrometheusBadResponse(
                f"series {_format_labels(labels)} has two values at {_iso(after)}"
            )
    return Series(
        labels=labels,
        timestamps_s=tuple(t for t, _ in pairs),
        values=tuple(v for _, v in pairs),
    )


def _refuse_non_finite(series: list[Series]) -> None:
    bad = [
        (t, v)
        for s in series
        for t, v in zip(s.timestamps_s, s.values, strict=True)
        if not math.isfinite(v)
    ]
    if bad:
        total = sum(len(s.values) for s in series)
        first_s, first_value = min(bad)
        raise PrometheusNonFiniteValues(
            f"{len(bad)} of {total} values are NaN or infinite (the first, "
            f"{'NaN' if math.isnan(first_value) else f'{first_value:+}'.title()}, at "
            f"{_iso(first_s)}); only finite numbers are stored: drop them in the query with "
            "`(...) > -Inf < +Inf`, or avoid 0/0 in ratios and quantiles"
        )


def _format_number(x: float) -> str:
    """Seconds as Prometheus takes them: `1730419200`, `1730419200.5`, `15`."""
    return f"{x:.3f}".rstrip("0").rstrip(".")


def _format_labels(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _iso(timestamp_s: float) -> str:
    return datetime.fromtimestamp(timestamp_s, UTC).isoformat().replace("+00:00", "Z")
