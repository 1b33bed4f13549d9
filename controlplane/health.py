"""Liveness and readiness for load balancers and Kubernetes probes, and the metrics scrape.

Answered by a middleware at the top of the stack, before host validation, the HTTPS redirect,
sessions or authentication: probes and Prometheus reach pods by IP over plain HTTP (no Host
header Django would accept), carry no session, and must not touch the session store. `/metrics`
has its own bearer token, closed when none is set (controlplane/metrics.py). `/healthz` says the
process serves.

`/readyz` answers 503 when the database is down: no page or API call works without it. The broker
only queues work (plans, imports, applies), so a short Redis outage must not take every web pod
out of its Service at once: while the broker has been unreachable for less than
`READY_BROKER_GRACE_S` (`BALLAST_READY_BROKER_GRACE_S`, 120 s) readiness stays 200 and the body
says `degraded`, naming it; after that, 503. Each process remembers when the broker first failed,
and asks it at most every `BROKER_CHECK_EVERY_S`, so a probe every few seconds costs no connection.
"""

import json
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpResponse

from controlplane.celery import app as celery_app

BROKER_TIMEOUT_S = 2.0
BROKER_CHECK_EVERY_S = 5.0


def check_database() -> str | None:
    """None when a trivial query succeeds, else why not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means not ready; the message says which
        return f"database: {type(exc).__name__}: {exc}"
    return None


def check_broker(url: str | None = None) -> str | None:
    """None when the Celery broker (or the one at `url`) accepts a connection, else why not."""
    try:
        with celery_app.connection_for_write(url, connect_timeout=BROKER_TIMEOUT_S) as conn:
            conn.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_S)
    except Exception as exc:  # idem
        return f"broker: {type(exc).__name__}: {exc}"
    return None


class BrokerWatch:
    """The broker's last known state in this process, and since when it has been unreachable."""

    def __init__(self, check: Callable[[], str | None] = check_broker):
        self.check = check
        self.lock = threading.Lock()
        self.checked_at: float | None = None
        self.problem: str | None = None
        self.down_since: float | None = None

    def state(self) -> tuple[str | None, float]:
        """(None, 0) while the broker answers, else (why not, for how many seconds)."""
        with self.lock:
            now = time.monotonic()
            if self.checked_at is None or now - self.checked_at >= BROKER_CHECK_EVERY_S:
                self.problem = self.check()
                self.checked_at = now
                if self.problem is None:
                    self.down_since = None
                elif self.down_since is None:
                    self.down_since = now
            if self.down_since is None:
                return None, 0.0
            return self.problem, now - self.down_since


broker_watch = BrokerWatch()


def readiness() -> tuple[int, dict]:
    """The status code and body of /readyz."""
    database = check_database()
    broker, down_for = broker_watch.state()
    grace = settings.READY_BROKER_GRACE_S
    if broker:
        broker = f"{broker} (unreachable for {down_for:.0f} s; not ready after {grace:g} s)"
    if database or (broker and down_for >= grace):
        return 503, {"status": "unavailable", "problems": [p for p in (database, broker) if p]}
    if broker:
        return 200, {"status": "degraded", "problems": [broker]}
    return 200, {"status": "ready"}


def _json(status: int, body: dict) -> HttpResponse:
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


class HealthMiddleware:
    """Answers GET /healthz, /readyz and /metrics itself; passes everything else on."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        """Probe paths are answered here, before any other middleware runs."""
        if request.method == "GET" and request.path == "/healthz":
            return _json(200, {"status": "ok"})
        if request.method == "GET" and request.path == "/readyz":
            return _json(*readiness())
        if request.method == "GET" and request.path == "/metrics":
            from controlplane.metrics import metrics_view  # imports the apps' models

            return metrics_view(request)
        return self.get_response(request)
