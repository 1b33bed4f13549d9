"""Prometheus metrics: HTTP requests (django-prometheus), task durations, plans, applied savings.

- Requests: django-prometheus's middleware (`django_http_requests_*`, latency histograms by
  view and method).
- Tasks: `ballast_task_duration_seconds{task, outcome}`, observed from Celery's signals in the
  worker; a worker serves its metrics on `BALLAST_WORKER_METRICS_PORT` when that is set.
- Plans: `ballast_plans{status}`, counted in the database at scrape time.
- Savings: `ballast_applied_savings_usd_per_day{team}`: for each workload, what its last applied
  plan costs less per day than what ran before it (negative when it costs more), summed by team.

With several gunicorn or prefork processes, set `PROMETHEUS_MULTIPROC_DIR` (an empty folder per
host) so every process's samples are merged. `/metrics` is closed by default (it shows each
team's savings): it needs `Authorization: Bearer $BALLAST_METRICS_TOKEN` when that variable is
set, answers anyone only with `BALLAST_METRICS_PUBLIC=true` (a scraper on a trusted network), and
answers 403 when neither is set.
"""

import hmac
import os
import time

import prometheus_client
from celery.signals import celeryd_init, task_postrun, task_prerun
from django.conf import settings
from django.db.models import Count, OuterRef, Subquery
from django.http import HttpResponse
from prometheus_client import CollectorRegistry, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily

TASK_SECONDS = Histogram(
    "ballast_task_duration_seconds",
    "Wall time of Celery tasks",
    ["task", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
_started: dict[str, float] = {}


@task_prerun.connect
def _task_started(task_id=None, **_):
    _started[task_id] = time.monotonic()


@task_postrun.connect
def _task_finished(task_id=None, task=None, state=None, **_):
    started = _started.pop(task_id, None)
    if started is not None and task is not None:
        TASK_SECONDS.labels(task.name, (state or "unknown").lower()).observe(
            time.monotonic() - started
        )


@celeryd_init.connect
def _serve_worker_metrics(**_):
    port = os.environ.get("BALLAST_WORKER_METRICS_PORT")
    if port:
        prometheus_client.start_http_server(int(port), registry=_registry(with_database=False))


class DatabaseCollector:
    """Plans by status and applied savings, read from the database at each scrape."""

    def collect(self):
        """Two gauge families."""
        from apps.plans.models import PlanStatus, ScalingPlan

        plans = GaugeMetricFamily("ballast_plans", "Scaling plans by status", labels=["status"])
        counts = dict(ScalingPlan.objects.values_list("status").annotate(n=Count("pk")))
        for status in PlanStatus.values:
            plans.add_metric([status], counts.get(status, 0))
        yield plans

        savings = GaugeMetricFamily(
            "ballast_applied_savings_usd_per_day",
            "Per team: what the last applied plan of each workload saves per day against the "
            "allocation it replaced",
            labels=["team"],
        )
        by_team: dict[str, float] = {}
        newest = ScalingPlan.objects.filter(
            workload=OuterRef("workload"), status=PlanStatus.APPLIED
        ).order_by("-applied_at", "-pk")
        latest = ScalingPlan.objects.filter(
            status=PlanStatus.APPLIED, pk=Subquery(newest.values("pk")[:1])
        ).select_related("workload__team")
        for plan in latest:
            delta = plan.delta_cost_per_day_usd
            if delta is not None:
                team = plan.workload.team.slug
                by_team[team] = by_team.get(team, 0.0) - delta
        for team, value in sorted(by_team.items()):
            savings.add_metric([team], round(value, 6))
        yield savings


def _registry(*, with_database: bool) -> CollectorRegistry:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_DefaultCollectors())
    if with_database:
        registry.register(DatabaseCollector())
    return registry


class _DefaultCollectors:
    """This process's default registry, as one collector of another registry."""

    def collect(self):
        """Everything the default registry holds."""
        yield from prometheus_client.REGISTRY.collect()


def metrics_view(request):
    """`GET /metrics` in the Prometheus text format."""
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            response = HttpResponse("metrics need Authorization: Bearer <token>\n", status=401)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    elif not settings.METRICS_PUBLIC:
        return HttpResponse(
            "metrics are closed: set BALLAST_METRICS_TOKEN (scrape with Authorization: Bearer "
            "<token>) or BALLAST_METRICS_PUBLIC=true\n",
            status=403,
        )
    body = prometheus_client.generate_latest(_registry(with_database=True))
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)
