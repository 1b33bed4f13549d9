"""Celery entry points for workloads."""

from dataclasses import asdict

from celery import group
from django.utils import timezone

from apps.kernel.tasks import Queue, limited_task, row_task
from apps.workloads import pulls, retention, services
from apps.workloads.models import TraceImport


def _fail_import(trace_import_id: int, *, reason: str) -> None:
    """An import stopped by its time limit fails with the reason, never RUNNING for ever."""
    unfinished = [TraceImport.Status.QUEUED, TraceImport.Status.RUNNING]
    TraceImport.objects.filter(pk=trace_import_id, status__in=unfinished).update(
        status=TraceImport.Status.FAILED, finished_at=timezone.now(), message=reason
    )


@row_task(soft_time_limit=600, time_limit=660, on_time_limit=_fail_import)
def import_trace(trace_import_id: int) -> None:
    """Import one uploaded trace as observations."""
    services.execute_trace_import(trace_import_id)


# A chunk's pulls fit under the soft limit (apps.workloads.pulls); a chunk not started within
# TICK_EXPIRES_S is dropped, as the next tick queues the same sources again.
PULL_SOFT_LIMIT_S = 50
TICK_EXPIRES_S = 55


@limited_task(Queue.CPU, soft_time_limit=PULL_SOFT_LIMIT_S, time_limit=60, acks_late=True)
def pull_metric_sources(source_ids: list[int]) -> dict[str, int]:
    """Pull one chunk of enabled sources in turn. Redelivery is harmless: points are upserted."""
    return asdict(pulls.pull_batch(source_ids))


@limited_task(Queue.CPU)
def pull_all_metric_sources() -> int:
    """Queue the pulls of every enabled source, one task per chunk; how many tasks.

    Beat entry: `apps.workloads.tasks.pull_all_metric_sources`, every 60 s. Chunks of
    BALLAST_METRIC_PULL_BATCH sources (`apps.workloads.pulls`); each expires before the next tick.
    """
    batches = pulls.source_batches()
    if batches:
        group(pull_metric_sources.s(ids) for ids in batches).apply_async(expires=TICK_EXPIRES_S)
    return len(batches)


@limited_task(Queue.CPU)
def apply_observation_retention() -> dict[str, int]:
    """Hourly (beat): roll up raw points past their window, delete old rollups (retention)."""
    return asdict(retention.apply_retention())
