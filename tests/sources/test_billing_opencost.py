"""The OpenCost reader against a loopback server that answers with a recorded /allocation answer.

The answer (data/billing/opencost-allocation-label-daily.json) has the shape OpenCost's API
documentation shows (https://opencost.io/docs/integrations/api-examples); see
data/billing/README.md for where its figures come from.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sources.billing import CostLine, read_opencost

RECORDED = Path(__file__).resolve().parents[2] / "data" / "billing"
ANSWER = (RECORDED / "opencost-allocation-label-daily.json").read_bytes()


@dataclass
class RecordedServer:
    url: str = ""
    body: bytes = ANSWER
    status: int = 200
    queries: list[dict[str, list[str]]] = field(default_factory=list)


@pytest.fixture
def opencost() -> Iterator[RecordedServer]:
    recorded = RecordedServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            recorded.queries.append({"path": [parts.path], **parse_qs(parts.query)})
            self.send_response(recorded.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(recorded.body)))
            self.end_headers()
            self.wfile.write(recorded.body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host, port = server.server_address[:2]
    recorded.url = f"http://{host}:{port}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorded
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def read(server: RecordedServer) -> list[CostLine]:
    return read_opencost(
        server.url, start=date(2026, 11, 2), end=date(2026, 11, 4), label="ballast_workload"
    )


def test_allocation_sets_become_daily_lines_per_workload(opencost):
    lines = read(opencost)
    (query,) = opencost.queries
    assert query == {
        "path": ["/allocation"],
        "window": ["2026-11-02T00:00:00Z,2026-11-04T00:00:00Z"],
        "aggregate": ["label:ballast_workload"],
        "step": ["1d"],
        "accumulate": ["false"],
    }
    day1, day2 = date(2026, 11, 2), date(2026, 11, 3)
    assert lines == [
        CostLine(day1, "", "kubernetes", "other", Decimal("1.6")),
        CostLine(day1, "", "kubernetes:idle", "other", Decimal("3.25")),
        CostLine(day1, "ml-platform/ranker", "kubernetes", "other", Decimal("17.25")),
        CostLine(day2, "ml-platform/ranker", "kubernetes", "other", Decimal("17.15")),
    ]


def test_a_day_outside_the_window_is_refused(opencost):
    answer = json.loads(ANSWER)
    answer["data"][1]["ml-platform.ranker"]["window"]["start"] = "2026-11-09T00:00:00Z"
    opencost.body = json.dumps(answer).encode()
    with pytest.raises(ValueError, match="ml-platform.ranker: window.start 2026-11-09 is outside"):
        read(opencost)


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (200, b"<html>proxy login</html>", "not JSON"),
        (200, b'{"code": 500, "message": "boom"}', "code 500"),
        (200, b'{"code": 200, "data": {"a": 1}}', "not a list of allocation sets"),
        (502, b"bad gateway", "HTTP 502"),
    ],
)
def test_answers_that_are_not_allocations_are_refused(opencost, status, body, message):
    opencost.status, opencost.body = status, body
    with pytest.raises(ValueError, match=message):
        read(opencost)


@pytest.mark.parametrize("cost", ["NaN", "Infinity", "-1e300", '"12"x'])
def test_non_finite_or_huge_costs_are_refused(opencost, cost):
    opencost.body = ANSWER.replace(b'"totalCost": 17.15', f'"totalCost": {cost}'.encode())
    with pytest.raises(ValueError):
        read(opencost)
