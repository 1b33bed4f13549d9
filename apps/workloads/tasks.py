"""Celery entry points for workloads."""

from celery import shared_task
from django.db import OperationalError

from apps.workloads import services
from controlplane.celery import Queue


@shared_task(
    queue=Queue.CPU,
    acks_late=True,
    autoretry_for=(OperationalError,),
    max_retries=3,
    retry_backoff=True,
)
def import_trace(trace_import_id: int) -> None:
    """Import one uploaded trace as observations."""
    services.execute_trace_import(trace_import_id)
