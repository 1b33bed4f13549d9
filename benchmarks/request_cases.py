"""What benchmarks/request_bounds.py sends: the seeded objects and one Case per request.

`seed()` creates, through the ORM, a team whose SRE (also FinOps, so the catalog is writable)
owns one online workload with 30 days of per-minute requests, each kind of object an API path
names by id, a draft plan and a queued forecast (no worker runs: their tasks wait in Redis).
`api_cases` turns the OpenAPI document into cases: the bodies of benchmarks/request_bodies.py
for every write operation, the costliest bodies each endpoint is known for, three query
strings for every list, and the page forms (sign-in, what-if upload, plan pages).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np

from benchmarks import request_bodies as bodies
from benchmarks.servers import online_workload

ROOT = Path(__file__).resolve().parents[1]
WRITES = ("post", "put", "patch", "delete")
HISTORY_MIN = 30 * 1440
CSRF = "b" * 32  # a CSRF secret of Django's length: the cookie and the form field carry it
PASSWORD = "bench-sre-password-7f3a"


@dataclass
class Case:
    """One request to send RUNS times; `prepare` runs untimed before each."""

    endpoint: str  # "POST /api/v1/workloads/{id}/metrics/"
    body_label: str
    path: str  # with ids and query string
    method: str = "GET"
    body: bytes = b""
    content_type: str = ""
    session: bool = False  # a page form: session cookie and CSRF token instead of the API token
    token: str = ""  # "" = the seeded API token
    prepare: Callable[[Case], None] | None = None


@dataclass
class Seeded:
    """What `seed` made: the token, a session, and the id each path's collection uses."""

    token: str
    session: str
    user: object
    workload: object
    ids: dict[str, int] = field(default_factory=dict)


def seed() -> Seeded:
    """The team, its SRE, one workload with history, and one of everything a path names."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client
    from knox.models import AuthToken

    from apps.accounts.models import FINOPS_GROUP, Role, Team, TeamMembership
    from apps.catalog.models import InstanceType, Provider, Region
    from apps.forecasts.services import request_forecasts
    from apps.plans.building import request_plan
    from apps.plans.models import Guardrail, PlanSchedule
    from apps.webhooks.models import Webhook
    from apps.workloads.models import MetricSource

    team = Team.objects.create(slug="bench", name="Bench")
    user = get_user_model().objects.create_user("bench-sre", password=PASSWORD)
    TeamMembership.objects.create(team=team, user=user, role=Role.SRE)
    user.groups.add(Group.objects.get_or_create(name=FINOPS_GROUP)[0])
    t = np.arange(HISTORY_MIN)
    counts = np.random.default_rng(0).poisson(18_000 * (1 + 0.6 * np.sin(2 * np.pi * t / 1440)))
    end = bodies.now_minute() - timedelta(hours=2)  # the one-second batches come after it
    workload = online_workload(team, "ranker", counts, step_s=60, end=end)
    plan = request_plan(workload=workload, by=user, via="api")
    (forecast,) = request_forecasts(
        [workload], series="requests", model="auto", horizon=60, quantiles=[0.5], seed=0, by=user
    )
    client = Client()
    client.force_login(user)
    ids = {
        "workloads": workload.pk,
        "deployment-targets": workload.targets.get().pk,
        "model-variants": workload.variants.get().pk,
        "slas": workload.sla.pk,
        "guardrails": Guardrail.objects.create(workload=workload, min_replicas=1).pk,
        "plan-schedules": PlanSchedule.objects.create(workload=workload, requested_by=user).pk,
        "metric-sources": MetricSource.objects.create(
            workload=workload, series="bench_source", base_url="http://prom:9090", promql="up"
        ).pk,
        "webhooks": Webhook.objects.create(
            team=team, url="https://hooks.example.com/b", events=["plan.proposed"]
        ).pk,
        "plans": plan.pk,
        "forecast-runs": forecast.pk,
        "providers": Provider.objects.first().pk,
        "regions": Region.objects.first().pk,
        "instance-types": InstanceType.objects.get(name="c6i.xlarge").pk,
    }
    token = AuthToken.objects.create(user)[1]
    return Seeded(token, client.cookies["sessionid"].value, user, workload, ids)


def api_cases(spec: dict, seeded: Seeded) -> list[Case]:
    """Every case, in the order sent: writes, lists, pages, then revocations and deletions."""
    lists, writes, last = [], [], []
    for template, operations in spec["paths"].items():
        collection = template.split("/")[3]
        path = template.replace("{id}", str(seeded.ids.get(collection, 0)))
        for method, operation in operations.items():
            endpoint = f"{method.upper()} {template}"
            if method == "get" and "{" not in template:
                lists += list_cases(endpoint, path, operation)
            elif method in WRITES:
                cases = write_cases(endpoint, path, method, bodies.properties(operation, spec))
                revokes = "/auth/logout" in template
                for case in cases:
                    case.prepare = fresh_token if revokes else None
                (last if method == "delete" or revokes else writes).extend(cases)
    # Deletions, the workload's last; then revocations, logging out everywhere last of all (it
    # revokes the seeded token too).
    last.sort(
        key=lambda c: (c.prepare is not None, c.endpoint.endswith(("/workloads/{id}/", "-all/")))
    )
    return writes + specific_cases(seeded) + lists + page_cases(seeded) + last


def write_cases(endpoint: str, path: str, method: str, props: dict) -> list[Case]:
    """The generic bodies (a body-less operation: none, and 1 MB of random bytes)."""
    if not props:
        return [
            Case(endpoint, "no body", path, method.upper()),
            Case(endpoint, "1 MB of random bytes", path, method.upper(), bodies.random_bytes()),
        ]
    return [
        Case(endpoint, label, path, method.upper(), body, content_type)
        for label, (body, content_type) in bodies.generic_bodies(props).items()
    ]


def list_cases(endpoint: str, path: str, operation: dict) -> list[Case]:
    """The largest page, every filter at 4 KB in all (gunicorn's request-line limit), a far page."""
    filters = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
    junk = [f for f in filters if f not in ("limit", "offset")]
    each = (3_900 - len(path)) // max(len(junk), 1) - 8
    long = "&".join(f"{name}={'9' * max(each - len(name), 1)}" for name in junk)
    return [
        Case(endpoint, "limit=1000", f"{path}?limit=1000&offset=0"),
        Case(endpoint, "every filter, 4 KB of query", f"{path}?limit=1000&{long}"),
        Case(endpoint, "offset 2^63-1", f"{path}?limit=1000&offset=9223372036854775807"),
    ]


def specific_cases(seeded: Seeded) -> list[Case]:
    """The bodies each costly endpoint is known for."""
    w, end = seeded.ids["workloads"], bodies.now_minute()
    metrics = f"/api/v1/workloads/{w}/metrics/"
    most = bodies.points_under(bodies.BODY_BYTES, end=end)
    json_type = "application/json"
    cases = [
        Case(
            "POST /api/v1/workloads/{id}/metrics/",
            f"{most:,} one-second points",
            metrics,
            "POST",
            bodies.metric_batch(most, end=end),
            json_type,
        ),
        Case(
            "POST /api/v1/workloads/{id}/metrics/",
            f"{most:,} points, the last 2099-12-31",
            metrics,
            "POST",
            bodies.metric_batch(most, end=end, last="2099-12-31T23:59:59Z"),
            json_type,
        ),
        Case(
            "POST /api/v1/workloads/{id}/metrics/",
            "50,000 points (2 MB: over 1 MB)",
            metrics,
            "POST",
            bodies.metric_batch(50_000, end=end, series="bench_max"),
            json_type,
        ),
        Case(
            "GET /api/v1/workloads/{id}/metrics/",
            "30 days, 1970 to 2100",
            f"{metrics}?series=requests&start=1970-01-01T00:00:00Z&end=2099-12-31T23:59:59Z",
        ),
        Case(
            "POST /api/v1/workloads/{id}/observations/delete/",
            "43,200 rows, 1970 to 2100",
            f"/api/v1/workloads/{w}/observations/delete/",
            "POST",
            json.dumps(
                {
                    "series": "bench_delete",
                    "from": "1970-01-01T00:00:00Z",
                    "to": "2099-12-31T23:59:59Z",
                    "comment": "c" * 1000,
                }
            ).encode(),
            json_type,
            prepare=refill_series(seeded.workload),
        ),
    ]
    cases += [
        Case(
            "POST /api/v1/trace-imports/",
            label,
            "/api/v1/trace-imports/",
            "POST",
            *bodies.multipart(
                {"workload": str(w), "series": "bench_trace"}, {"file": ("trace.csv", trace)}
            ),
        )
        for label, trace in bodies.traces(end).items()
    ]
    fields = {"workload": str(w), "series": "bench_trace"} | bodies.MANY_PARTS
    cases.append(
        Case(
            "POST /api/v1/trace-imports/",
            "12,000 form fields beside a trace",
            "/api/v1/trace-imports/",
            "POST",
            *bodies.multipart(fields, {"file": ("trace.csv", bodies.TINY_TRACE)}),
        )
    )
    forecast = {"workload": w, "series": "requests", "model": "auto", "quantiles": [0.5, 0.99]}
    for label, extra in (
        ("horizon 50,000, seed 2^31-1", {"horizon": 50_000, "seed": 2**31 - 1}),
        ("horizon and seed 2^63", {"horizon": 2**63, "seed": 2**63}),
        ("20k quantiles", {"horizon": 1, "quantiles": [0.5] * 20_000}),
    ):
        body = json.dumps(forecast | extra).encode()
        cases.append(
            Case(
                "POST /api/v1/forecast-runs/",
                label,
                "/api/v1/forecast-runs/",
                "POST",
                body,
                json_type,
            )
        )
    for label, extra in (
        ("interval 300 s x 168", {"interval_s": 300, "horizon_intervals": 168}),
        ("horizon 2^63 intervals", {"horizon_intervals": 2**63}),
    ):
        body = json.dumps({"workload": w} | extra).encode()
        cases.append(Case("POST /api/v1/plans/", label, "/api/v1/plans/", "POST", body, json_type))
    cases.append(
        Case(
            "POST /api/v1/optimization-runs/",
            "a 1 MB problem, seed 2^63-1",
            "/api/v1/optimization-runs/",
            "POST",
            bodies.big_problem(w),
            json_type,
        )
    )
    plan = seeded.ids["plans"]
    for verb, key in (("choose", "reason"), ("approve", "comment"), ("reject", "comment")):
        body = json.dumps({"candidate": 0, key: "r" * 990_000}).encode()
        cases.append(
            Case(
                f"POST /api/v1/plans/{{id}}/{verb}/",
                "990 KB of reason",
                f"/api/v1/plans/{plan}/{verb}/",
                "POST",
                body,
                json_type,
            )
        )
    return cases


def page_cases(seeded: Seeded) -> list[Case]:
    """The page forms: sign-in, the what-if upload, a plan's request and decision."""
    w, plan = seeded.ids["workloads"], seeded.ids["plans"]
    form = "application/x-www-form-urlencoded"
    cases = [
        Case(
            "POST /accounts/login/",
            "a 990 KB wrong password",
            "/accounts/login/",
            "POST",
            f"csrfmiddlewaretoken={CSRF}&username=nobody&password={'p' * 990_000}".encode(),
            form,
            session=True,
        ),
        Case(
            "POST /workloads/{id}/plans/request/",
            "form of 100k fields",
            f"/workloads/{w}/plans/request/",
            "POST",
            f"csrfmiddlewaretoken={CSRF}&".encode() + bodies.many_fields("x"),
            form,
            True,
        ),
        Case(
            "POST /plans/{id}/approve/",
            "990 KB of comment",
            f"/plans/{plan}/approve/",
            "POST",
            f"csrfmiddlewaretoken={CSRF}&comment={'c' * 990_000}".encode(),
            form,
            True,
        ),
    ]
    for label, trace in bodies.traces(bodies.now_minute()).items():
        fields = {"csrfmiddlewaretoken": CSRF, "policies": "threshold"}
        cases.append(
            Case(
                "POST /what-if/",
                label,
                "/what-if/",
                "POST",
                *bodies.multipart(fields, {"trace": ("trace.csv", trace)}),
                session=True,
            )
        )
    fields = {"csrfmiddlewaretoken": CSRF, "policies": "threshold"} | bodies.MANY_PARTS
    cases.append(
        Case(
            "POST /what-if/",
            "12,000 form fields beside a trace",
            "/what-if/",
            "POST",
            *bodies.multipart(fields, {"trace": ("trace.csv", bodies.TINY_TRACE)}),
            session=True,
        )
    )
    return cases


def fresh_token(case: Case) -> None:
    """A new token for a case that revokes the one it comes with."""
    from django.contrib.auth import get_user_model
    from knox.models import AuthToken

    case.token = AuthToken.objects.create(get_user_model().objects.get(username="bench-sre"))[1]


def refill_series(workload) -> Callable[[Case], None]:
    """Put back 30 days of per-minute points in the series `bench_delete` deletes."""
    from apps.workloads.models import MetricObservation

    def refill(case: Case) -> None:
        end = bodies.now_minute() - timedelta(hours=2)
        MetricObservation.objects.filter(workload=workload, series="bench_delete").delete()
        MetricObservation.objects.bulk_create(
            (
                MetricObservation(
                    workload=workload,
                    series="bench_delete",
                    ts=end - timedelta(minutes=HISTORY_MIN - k),
                    value=1.0,
                )
                for k in range(HISTORY_MIN)
            ),
            batch_size=5000,
        )

    return refill
