"""Liveness and readiness for load balancers and Kubernetes probes, and the metrics scrape.

Answered by a middleware at the top of the stack, before host validation, the HTTPS redirect,
sessions or authentication: probes and Prometheus reach pods by IP over plain HTTP (no Host
header Django would accept), carry no session, and must not touch the session store. `/metrics`
has its own bearer token, closed when none is set (controlplane/metrics.py). `/healthz` says the
process serves; `/readyz` also reaches the database and the broker, and answers 503 naming what
is down.
"""

import json

from django.db import connection
from django.http import HttpResponse

from controlplane.celery import app as celery_app

BROKER_TIMEOUT_S = 2.0


def check_database() -> str | None:
    """None when a trivial query succeeds, else why not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means not ready; the message says which
        return f"database: {type(exc).__name__}: {exc}"
    return None


def check_broker() -> str | None:
    """None when the Celery broker accepts a connection, else why not."""
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_S)
    except Exception as exc:  # idem
        return f"broker: {type(exc).__name__}: {exc}"
    return None


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
            problems = [p for p in (check_database(), check_broker()) if p]
            if problems:
                return _json(503, {"status": "unavailable", "problems": problems})
            return _json(200, {"status": "ready"})
        if request.method == "GET" and request.path == "/metrics":
            from controlplane.metrics import metrics_view  # imports the apps' models

            return metrics_view(request)
        return self.get_response(request)
