"""Celery entry points for workloads."""

from celery import shared_task

from apps.kernel.tasks import Queue, row_task
from apps.workloads import services
from apps.workloads.models import MetricSource


@row_task()
def import_trace(trace_import_id: int) -> None:
    """Import one uploaded trace as observations."""
    services.execute_trace_import(trace_import_id)


@row_task()
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
