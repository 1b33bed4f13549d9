"""Celery entry points for workloads."""

from celery import shared_task
from django.utils import timezone

from apps.kernel.tasks import Queue, row_task
from apps.workloads import services
from apps.workloads.models import MetricSource, TraceImport


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


@row_task(soft_time_limit=50, time_limit=60)
def pull_prometheus_metrics(source_id: int) -> None:
    """Pull one enabled metric source. Redelivery is harmless: points are upserted."""
    if MetricSource.objects.filter(pk=source_id, enabled=True).exists():
        services.pull_metrics(source_id)


@shared_task(queue=Queue.CPU)
def pull_all_metric_sources() -> None:
    """Queue a pull of every enabled source; Celery beat runs it as this module's path.

    Beat entry: `apps.workloads.tasks.pull_all_metric_sources`, every 60 s. A source whose next
    point is not due yet costs one database read and no request to Prometheus.
    """
    for source_id in MetricSource.objects.filter(enabled=True).values_list("pk", flat=True):
        pull_prometheus_metrics.delay(source_id)
