"""Celery entry points for planning."""

from celery import shared_task
from django.db import OperationalError

from apps.plans import services
from controlplane.celery import Queue


@shared_task(
    queue=Queue.GPU,
    acks_late=True,
    autoretry_for=(OperationalError,),
    max_retries=3,
    retry_backoff=True,
)
def run_optimization(run_id: int) -> None:
    """Solve one OptimizationRun; GA-PSO uses CUDA when the worker has it, else the CPU."""
    services.execute_optimization_run(run_id)
