"""The CI flow over real HTTP: two SREs, a CI token, PostgreSQL, Redis and a real worker.

CI registers a workload and its variant, pushes four days of per-minute metrics and asks for a
plan; the worker forecasts and builds it; the webhook receiver gets a signed `plan.proposed`;
one SRE picks a safer candidate, the other approves; CI (with the apply scope) starts the apply;
the worker applies it on the dry-run target; `plan.approved` and `plan.applied` arrive signed.
"""

import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import requests
from django_celery_results.models import TaskResult

from apps.accounts.models import Role, Team, TokenGrant
from apps.catalog.services import import_catalog
from apps.plans.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "data" / "pricing" / "aws-us-east-1.json"


class Receiver(BaseHTTPRequestHandler):
    """Keeps every delivery: headers and raw body."""

    received: list[tuple[dict, bytes]] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    server.shutdown()


class Api:
    """A token-authenticated HTTP client of the live server."""

    def __init__(self, base: str, token: str):
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def get(self, path, **params):
        return self.session.get(self.base + path, params=params, timeout=30)

    def post(self, path, body=None):
        return self.session.post(self.base + path, json=body or {}, timeout=30)


def make_token(user, scopes=()):
    from knox.models import AuthToken

    instance, token = AuthToken.objects.create(user, expiry=None)
    if scopes:
        TokenGrant.objects.create(token=instance, scopes=list(scopes))
    return token


def wait_for(api, path, done, *, seconds):
    deadline = time.monotonic() + seconds
    while True:
        body = api.get(path).json()
        if done(body):
            return body
        assert time.monotonic() < deadline, f"timed out waiting on {path}: {body}"
        time.sleep(0.5)


def wait_for_events(count, *, seconds=60):
    deadline = time.monotonic() + seconds
    while len(Receiver.received) < count:
        assert time.monotonic() < deadline, f"{len(Receiver.received)} webhooks arrived"
        time.sleep(0.2)


def verify(secret, headers, body) -> bool:
    """The recipe of apps/webhooks/signing.py, as a receiver would write it."""
    timestamp = headers["X-Ballast-Timestamp"]
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest("sha256=" + mac.hexdigest(), headers["X-Ballast-Signature"])


@pytest.mark.integration
def test_ci_flow_from_metrics_to_applied_plan(worker, live_server, make_user, receiver):
    import_catalog(json.loads(CATALOG.read_text()))
    team = Team.objects.create(slug="search", name="Search", target_references=["*"])
    sre_one = make_user("sre-one", role=Role.SRE, team=team)
    sre_two = make_user("sre-two", role=Role.SRE, team=team)
    ci_user = make_user("search-ci", role=Role.CI, team=team)
    # Scopes limit the token to what the pipeline does; plans:apply is an operator's delegation.
    ci_scopes = [
        "workloads:write",
        "targets:write",
        "metrics:write",
        "plans:request",
        "plans:apply",
    ]
    ci = Api(live_server.url, make_token(ci_user, scopes=ci_scopes))
    one = Api(live_server.url, make_token(sre_one))
    two = Api(live_server.url, make_token(sre_two))

    hook = one.post(
        "/api/v1/webhooks/",
        {
            "team": "search",
            "url": receiver,
            "events": ["plan.proposed", "plan.approved", "plan.applied"],
        },
    )
    assert hook.status_code == 201, hook.text
    secret = hook.json()["secret"]

    workload = ci.post("/api/v1/workloads/", {"team": "search", "name": "ranker", "kind": "online"})
    assert workload.status_code == 201, workload.text
    wid = workload.json()["id"]
    assert (
        ci.post(
            "/api/v1/slas/",
            {
                "workload": wid,
                "latency_percentile": 99,
                "latency_target_ms": 100,
                "availability": 0.999,
            },
        ).status_code
        == 201
    )
    variant = ci.post(
        "/api/v1/model-variants/",
        {
            "workload": wid,
            "name": "ranker-small",
            "accuracy": 0.9,
            "memory_mb": 2048,
            "capacity_profiles": [
                {"instance_type": "c6i.xlarge", "max_rps": 40, "service_time_ms": 20}
            ],
        },
    )
    assert variant.status_code == 201, variant.text
    target = ci.post(
        "/api/v1/deployment-targets/",
        {"workload": wid, "kind": "k8s_deployment", "reference": "prod/ranker"},
    )
    assert target.status_code == 201 and target.json()["dry_run"] is True

    minutes = 4 * 1440
    t = np.arange(minutes)
    load = (
        6000
        + 4800 * np.sin(2 * np.pi * t / 1440)
        + np.random.default_rng(1).normal(0, 300, minutes)
    )
    start = datetime(2026, 11, 1, tzinfo=UTC) - timedelta(minutes=minutes)
    points = [
        {"ts": (start + timedelta(minutes=int(i))).isoformat(), "value": round(float(v), 1)}
        for i, v in enumerate(np.clip(load, 0, None))
    ]
    pushed = ci.post(f"/api/v1/workloads/{wid}/metrics/", {"series": "requests", "points": points})
    assert pushed.status_code in (200, 201), pushed.text

    requested = ci.post("/api/v1/plans/", {"workload": wid})
    assert requested.status_code == 202, requested.text
    pid = requested.json()["id"]
    plan = wait_for(ci, f"/api/v1/plans/{pid}/", lambda p: p["status"] != "draft", seconds=240)
    assert plan["status"] == "proposed", plan["message"]
    assert len(plan["schedule"]) == 24 and plan["expected_cost_per_day_usd"] > 0
    # Its candidates were replayed in parts, one per point of the front, joined by a chord.
    parts = TaskResult.objects.filter(task_name="apps.plans.tasks.measure_candidates")
    points = {c["cost_usd"] for c in plan["front"]}
    assert parts.count() == len(points) >= 2 and {r.status for r in parts} == {"SUCCESS"}
    assert all(c["measured"] for c in plan["front"])

    wait_for_events(1)
    headers, body = Receiver.received[0]
    assert headers["X-Ballast-Event"] == "plan.proposed" and verify(secret, headers, body)
    assert json.loads(body)["data"]["plan"] == pid

    # CI may not approve (no scope); the SRE who did not request it may pick and approve.
    assert ci.post(f"/api/v1/plans/{pid}/approve/").status_code == 403
    safer = len(plan["front"]) - 1
    chosen = one.post(f"/api/v1/plans/{pid}/choose/", {"candidate": safer, "reason": "sale week"})
    assert chosen.status_code == 200, chosen.text
    approved = two.post(f"/api/v1/plans/{pid}/approve/", {"comment": "fine"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["decided_by"] == "sre-two"

    applying = ci.post(f"/api/v1/plans/{pid}/apply/")
    assert applying.status_code == 202, applying.text
    plan = wait_for(ci, f"/api/v1/plans/{pid}/", lambda p: p["status"] != "applying", seconds=60)
    assert plan["status"] == "applied", plan["message"]

    wait_for_events(3)
    events = [h["X-Ballast-Event"] for h, _ in Receiver.received]
    assert sorted(events) == ["plan.applied", "plan.approved", "plan.proposed"]
    assert all(verify(secret, h, b) for h, b in Receiver.received)

    trail = list(AuditEvent.objects.filter(plan_id=pid).order_by("at", "pk"))
    assert [e.action for e in trail if e.action != "plan.apply_step"] == [
        "plan.requested",
        "plan.proposed",
        "plan.candidate_chosen",
        "plan.approved",
        "plan.applying",
        "plan.applied",
    ]
    assert {e.actor for e in trail} >= {"search-ci", "sre-one", "sre-two", "system"}
