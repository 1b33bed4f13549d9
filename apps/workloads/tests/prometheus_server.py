"""A small Prometheus HTTP API server for tests: GET /api/v1/query_range in the real format.

Series are registered per query string (the PromQL exactly as the client sends it); a range query
answers, like Prometheus evaluating at `start + k * step`, the registered points that fall on
that grid within [start, end]. An unknown query answers an empty matrix, as Prometheus does for a
metric it has no samples of. Parameters are checked as Prometheus checks them (400 `bad_data`
with its messages, including the 11,000-points-per-series limit).

Fault modes (`server.fault`, from request number `fault_after` on): "delay" (answer after
`delay_s`), "garbage" (200, not JSON), "http_500" (a proxy's plain-text 500), "http_503"
(Prometheus's 503 timeout error), "status_error" (Prometheus's 422 execution error), "empty",
"two_series", "nan" (some values "NaN" and "+Inf") and "vector" (an instant-vector result).
With `token` set, requests without `Authorization: Bearer <token>` get 401.
"""

from __future__ import annotations

import json
import math
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_POINTS = 11_000
FAULTS = (
    "delay",
    "garbage",
    "http_500",
    "http_503",
    "status_error",
    "empty",
    "two_series",
    "nan",
    "vector",
)
DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w|y)$")
DURATION_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


class BadData(Exception):
    """A parameter Prometheus would refuse with 400 bad_data."""


@dataclass
class Request:
    query: str
    start_s: float
    end_s: float
    step_s: float
    headers: dict[str, str]


@dataclass
class _Series:
    labels: dict[str, str]
    points: dict[float, float]


@dataclass
class PrometheusServer:
    """Registered series behind a ThreadingHTTPServer on 127.0.0.1, port chosen by the OS."""

    token: str | None = None
    fault: str | None = None
    fault_after: int = 0
    delay_s: float = 2.0
    requests: list[Request] = field(default_factory=list)
    series: dict[str, list[_Series]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._httpd.prometheus = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> PrometheusServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def add_series(
        self, query: str, points: list[tuple[float, float]], labels: dict | None = None
    ) -> None:
        """Register `points` ((unix seconds, value), ...) as one series answering `query`."""
        self.series.setdefault(query, []).append(_Series(labels or {}, dict(points)))

    def answer(self, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str, bytes]:
        """Status, content type and body for one GET /api/v1/query_range."""
        if self.token is not None and headers.get("Authorization") != f"Bearer {self.token}":
            return 401, "text/plain", b"Unauthorized\n"
        try:
            query, start_s, end_s, step_s = _check_params(params)
        except BadData as exc:
            return _error(400, "bad_data", str(exc))
        with self._lock:
            self.requests.append(Request(query, start_s, end_s, step_s, headers))
            faulty = self.fault is not None and len(self.requests) > self.fault_after
        if faulty:
            fault = _answer_fault(self.fault, self.delay_s)
            if fault is not None:
                return fault
        result = [
            {"metric": s.labels, "values": values}
            for s in self.series.get(query, [])
            if (values := _evaluate(s.points, start_s, end_s, step_s))
        ]
        if faulty:
            result = _shape_fault(self.fault, result)
        kind = "vector" if faulty and self.fault == "vector" else "matrix"
        return _success(kind, result)


def _check_params(params: dict[str, str]) -> tuple[str, float, float, float]:
    if not params.get("query"):
        raise BadData('invalid parameter "query": 1:1: parse error: no expression found in input')
    start_s = _parse_time(params.get("start"), "start")
    end_s = _parse_time(params.get("end"), "end")
    if end_s < start_s:
        raise BadData('invalid parameter "end": end timestamp must not be before start time')
    step_s = _parse_step(params.get("step"))
    if step_s <= 0:
        raise BadData(
            'invalid parameter "step": zero or negative query resolution step widths are not '
            "accepted. Try a positive integer"
        )
    if (end_s - start_s) / step_s > MAX_POINTS:
        raise BadData(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
            "query resolution (?step=XX)"
        )
    return params["query"], start_s, end_s, step_s


def _parse_time(raw: str | None, name: str) -> float:
    try:
        if raw is None:
            raise ValueError
        try:
            return float(raw)
        except ValueError:
            return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise BadData(
            f'invalid parameter "{name}": cannot parse "{raw or ""}" to a valid timestamp'
        ) from None


def _parse_step(raw: str | None) -> float:
    try:
        return float(raw or "")
    except ValueError:
        if match := DURATION.match(raw or ""):
            return int(match[1]) * DURATION_S[match[2]]
    raise BadData(f'invalid parameter "step": cannot parse "{raw or ""}" to a valid duration')


def _evaluate(
    points: dict[float, float], start_s: float, end_s: float, step_s: float
) -> list[list]:
    """Registered points on the evaluation grid, as [unix_time, "value"] pairs."""
    return [
        [_format_time(t), _format_value(v)]
        for t, v in sorted(points.items())
        if start_s <= t <= end_s and _on_grid((t - start_s) / step_s)
    ]


def _on_grid(steps: float) -> bool:
    return abs(steps - round(steps)) < 1e-9


def _answer_fault(fault: str, delay_s: float) -> tuple[int, str, bytes] | None:
    if fault == "delay":
        threading.Event().wait(delay_s)
    elif fault == "garbage":
        return 200, "text/html", b"<html><body>Grafana login</body></html>"
    elif fault == "http_500":
        return 500, "text/plain", b"Internal Server Error\n"
    elif fault == "http_503":
        return _error(503, "timeout", "query timed out in expression evaluation")
    elif fault == "status_error":
        return _error(422, "execution", "found duplicate series for the match group")
    return None


def _shape_fault(fault: str, result: list[dict]) -> list[dict]:
    if fault == "empty":
        return []
    if fault == "two_series":
        return [
            {"metric": {**item["metric"], "pod": pod}, "values": item["values"]}
            for item in result
            for pod in ("ranker-0", "ranker-1")
        ]
    if fault == "nan":
        for item in result:
            for index, pair in enumerate(item["values"]):
                if index % 3 == 1:
                    pair[1] = "NaN"
            item["values"][-1][1] = "+Inf"
    return result


def _format_time(t: float) -> float | int:
    return int(t) if t == int(t) else round(t, 3)


def _format_value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)


def _success(kind: str, result: list[dict]) -> tuple[int, str, bytes]:
    body = {"status": "success", "data": {"resultType": kind, "result": result}}
    return 200, "application/json", json.dumps(body).encode()


def _error(code: int, error_type: str, error: str) -> tuple[int, str, bytes]:
    body = {"status": "error", "errorType": error_type, "error": error}
    return code, "application/json", json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # the name http.server looks for
        parts = urlsplit(self.path)
        if parts.path != "/api/v1/query_range":
            code, content_type, body = 404, "text/plain", b"404 page not found\n"
        else:
            params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            code, content_type, body = self.server.prometheus.answer(params, dict(self.headers))
        try:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def log_message(self, format, *args):
        pass  # keep test output quiet
