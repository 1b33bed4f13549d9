"""Celery entry points for applies and rollbacks: acks_late, retried with backoff."""

from celery import shared_task
from django.db import OperationalError

from actuators.base import TransientError
from apps.actuation import services
from controlplane.celery import Queue

RETRIES = 6  # backoff 2, 4, 8 ... 64 s (jittered): about two minutes of throttling or 5xx


@shared_task(bind=True, queue=Queue.CPU, acks_late=True, max_retries=RETRIES)
def apply_plan(self, plan_id: int) -> None:
    """Apply one APPLYING plan; a redelivery or retry redoes only what is not done."""
    _with_retries(self, services.execute_apply, plan_id)


@shared_task(bind=True, queue=Queue.CPU, acks_late=True, max_retries=RETRIES)
def rollback_plan(self, plan_id: int) -> None:
    """Return a failed or applied plan's targets to their recorded state."""
    _with_retries(self, services.execute_rollback, plan_id)


@shared_task(queue=Queue.CPU)
def enact_batch_schedules() -> int:
    """Every minute (beat): applied batch plans take their targets to the interval due now."""
    return services.enact_batch_schedules()


def _with_retries(task, work, plan_id: int) -> None:
    try:
        work(plan_id)
    except (TransientError, OperationalError) as exc:
        if task.request.retries >= task.max_retries:
            services.fail_after_retries(plan_id, exc)
            return
        raise task.retry(exc=exc, countdown=_backoff(task.request.retries)) from exc


def _backoff(attempt: int) -> float:
    import random

    return 2 ** (attempt + 1) * (0.8 + 0.4 * random.random())
