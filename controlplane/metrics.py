"""Prometheus metrics: requests, tasks, queues and workers, plans, savings, freshness.

- Requests: django-prometheus's middleware (`django_http_requests_*`, latency histograms by
  view and method).
- Tasks: `ballast_task_duration_seconds{task, outcome}` and `ballast_celery_tasks_total{task,
  state}`, from Celery's signals in the worker; a worker serves its metrics on
  `BALLAST_WORKER_METRICS_PORT` when that is set.
- Queues and workers: `ballast_celery_queue_length{queue}` and `ballast_celery_workers{queue}`,
  read from the broker's Redis at scrape time (controlplane/celery_state.py); absent with the
  demo's filesystem broker, or while Redis does not answer.
- Plans: `ballast_plans{status}`, counted in the database at scrape time.
- Savings: `ballast_applied_savings_usd_per_day{team}`: for each workload, what its last applied
  plan costs less per day than what ran before it (negative when it costs more), summed by team.
- Freshness, computed in the database at scrape time (docs/operations.md):
  `ballast_metric_source_lag_max_seconds`, `ballast_metric_sources_stale`,
  `ballast_plan_age_max_seconds`, `ballast_plan_apply_failures_1h`,
  `ballast_webhook_delivery_failures_1h`.

The web's `/metrics` serves the queues, workers and database gauges; the workers' ports serve
their task metrics.

With several gunicorn or prefork processes, set `PROMETHEUS_MULTIPROC_DIR` (an empty folder per
host) so every process's samples are merged. `/metrics` is closed by default (it shows each
team's savings): it needs `Authorization: Bearer $BALLAST_METRICS_TOKEN` when that variable is
set, answers anyone only with `BALLAST_METRICS_PUBLIC=true` (a scraper on a trusted network), and
answers 403 when neither is set.
"""

import hmac
import logging
import os
import time
from datetime import timedelta

import prometheus_client
from celery.signals import (
    celeryd_init,
    task_failure,
    task_postrun,
    task_prerun,
    task_rejected,
    task_retry,
    task_revoked,
    task_success,
)
from django.conf import settings
from django.db.models import Count, F, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily

from apps.kernel.tasks import Queue
from controlplane import celery_state

log = logging.getLogger(__name__)

TASK_SECONDS = Histogram(
    "ballast_task_duration_seconds",
    "Wall time of Celery tasks",
    ["task", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
TASKS = Counter(
    "ballast_celery_tasks",
    "Finished Celery tasks by state: succeeded, failed, retried, rejected or revoked",
    ["task", "state"],
)
_started: dict[str, float] = {}
# A source whose newest sample is older than this is stale.
STALE_AFTER = timedelta(minutes=5)


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


@task_success.connect
def _task_succeeded(sender=None, **_):
    TASKS.labels(getattr(sender, "name", "unknown"), "succeeded").inc()


@task_failure.connect
def _task_failed(sender=None, **_):
    TASKS.labels(getattr(sender, "name", "unknown"), "failed").inc()


@task_retry.connect
def _task_retried(sender=None, **_):
    TASKS.labels(getattr(sender, "name", "unknown"), "retried").inc()


@task_revoked.connect
def _task_revoked(sender=None, **_):
    TASKS.labels(getattr(sender, "name", "unknown"), "revoked").inc()


@task_rejected.connect
def _task_rejected(message=None, **_):
    headers = getattr(message, "headers", None) or {}
    TASKS.labels(headers.get("task", "unknown"), "rejected").inc()


@celeryd_init.connect
def _serve_worker_metrics(**_):
    port = os.environ.get("BALLAST_WORKER_METRICS_PORT")
    if port:
        prometheus_client.start_http_server(int(port), registry=_registry(with_shared_state=False))


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
        yield from freshness(timezone.now())


def freshness(now):
    """The freshness gauges, each one bounded query over indexed columns.

    - Metric sources: for each enabled source, its newest sample (one step back on the
      observations' unique index on workload, series, ts), or its creation for one with none.
    - Plans: for each workload, its newest applied plan (the plans' index on workload, status).
    - Failures: audit events and webhook deliveries of the last hour (indexed on time, status).
    """
    from apps.plans.models import AuditEvent, PlanStatus, ScalingPlan
    from apps.webhooks.models import WebhookDelivery
    from apps.workloads.models import MetricObservation, MetricSource, Workload

    newest_sample = (
        MetricObservation.objects.filter(workload=OuterRef("workload"), series=OuterRef("series"))
        .order_by("-ts")
        .values("ts")[:1]
    )
    # One timestamp per source, min and count here: aggregated in SQL, the subquery ran twice.
    newest = list(
        MetricSource.objects.filter(enabled=True)
        .annotate(newest=Coalesce(Subquery(newest_sample), F("created_at")))
        .values_list("newest", flat=True)
    )
    yield GaugeMetricFamily(
        "ballast_metric_source_lag_max_seconds",
        "Age of the newest sample of the most lagging enabled metric source (0 with none)",
        value=_age_s(now, min(newest, default=None)),
    )
    yield GaugeMetricFamily(
        "ballast_metric_sources_stale",
        "Enabled metric sources whose newest sample is older than 5 minutes",
        value=sum(sample < now - STALE_AFTER for sample in newest),
    )

    current_plan = (
        ScalingPlan.objects.filter(
            workload=OuterRef("pk"), status=PlanStatus.APPLIED, applied_at__isnull=False
        )
        .order_by("-applied_at")
        .values("applied_at")[:1]
    )
    oldest_plan = Workload.objects.annotate(current=Subquery(current_plan)).aggregate(
        oldest=Min("current")
    )["oldest"]
    yield GaugeMetricFamily(
        "ballast_plan_age_max_seconds",
        "Among workloads with an applied plan, the age of the oldest plan in force (0 with none)",
        value=_age_s(now, oldest_plan),
    )

    hour_ago = now - timedelta(hours=1)
    apply_failures = AuditEvent.objects.filter(
        Q(action="plan.failed", from_status=PlanStatus.APPLYING) | Q(action="plan.rollback_failed"),
        at__gte=hour_ago,
    ).count()
    yield GaugeMetricFamily(
        "ballast_plan_apply_failures_1h",
        "Plan applies and rollbacks that failed in the last hour",
        value=apply_failures,
    )
    webhook_failures = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.FAILED, created_at__gte=hour_ago
    ).count()
    yield GaugeMetricFamily(
        "ballast_webhook_delivery_failures_1h",
        "Webhook deliveries made in the last hour that failed for good",
        value=webhook_failures,
    )


def _age_s(now, then) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


class BrokerCollector:
    """Messages waiting and live workers per queue, read from the broker's Redis at each scrape."""

    def collect(self):
        """Two gauge families, or none without a Redis broker or while it does not answer."""
        client = celery_state.redis_client(settings.CELERY_BROKER_URL)
        if client is None:
            return
        from redis import RedisError

        queues = [queue.value for queue in Queue]
        options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
        try:
            lengths = celery_state.queue_lengths(
                client, queues, options.get("global_keyprefix", "")
            )
            workers = celery_state.live_workers(client, queues)
        except RedisError as exc:
            log.warning("queue lengths and live workers not read from the broker: %s", exc)
            return
        length = GaugeMetricFamily(
            "ballast_celery_queue_length", "Messages waiting in each Celery queue", labels=["queue"]
        )
        live = GaugeMetricFamily(
            "ballast_celery_workers",
            f"Workers consuming each queue, alive in the last {celery_state.LIVE_S} s",
            labels=["queue"],
        )
        for queue in queues:
            length.add_metric([queue], lengths[queue])
            live.add_metric([queue], workers[queue])
        yield length
        yield live


def _registry(*, with_shared_state: bool) -> CollectorRegistry:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_DefaultCollectors())
    if with_shared_state:
        registry.register(DatabaseCollector())
        registry.register(BrokerCollector())
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
    body = prometheus_client.generate_latest(_registry(with_shared_state=True))
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)
