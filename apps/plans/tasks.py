"""Celery entry points for planning, and for applies and rollbacks (acks_late, retried)."""

from celery import chain, chord, group, shared_task
from django.db import OperationalError

from actuators.base import TransientError
from apps.kernel.tasks import Queue, row_task
from apps.plans import applying, services


@row_task(Queue.GPU)
def run_optimization(run_id: int) -> None:
    """Solve one OptimizationRun; GA-PSO uses CUDA when the worker has it, else the CPU."""
    services.execute_optimization_run(run_id)


@row_task()
def forecast_for_plan(plan_id: int) -> None:
    """First link of a plan's chain: a fresh stored forecast, or a new one computed here."""
    services.prepare_forecast(plan_id)


@row_task()
def build_plan(plan_id: int) -> None:
    """Second link: problem, Pareto front, candidates; their replays fan out as a chord."""
    parts = services.pose_plan(plan_id)
    if parts:
        measuring = group(measure_candidates.s(plan_id, indices) for indices in parts)
        chord(measuring, propose_plan.s(plan_id)).apply_async()


@row_task(keep_result=True)
def measure_candidates(plan_id: int, indices: list[int]) -> list[list]:
    """One part of a plan's replays, run beside the others; its result joins the chord."""
    return services.measure_part(plan_id, indices)


@row_task()
def propose_plan(parts: list[list[list]], plan_id: int) -> None:
    """The chord's body: every part replayed, the plan is proposed (or refused)."""
    services.propose_plan(plan_id, parts)


def plan_chain(plan_id: int):
    """The chain a requested plan runs through; `.apply_async()` sends it."""
    return chain(forecast_for_plan.si(plan_id), build_plan.si(plan_id))


@shared_task(queue=Queue.CPU)
def expire_plans() -> int:
    """Celery beat: expire plans past their time to live."""
    return services.expire_due_plans()


@shared_task(queue=Queue.CPU)
def request_scheduled_plans() -> int:
    """Celery beat: request the plans whose schedule is due."""
    return services.request_scheduled_plans()


RETRIES = 6  # backoff 2, 4, 8 ... 64 s (jittered): about two minutes of throttling or 5xx


@shared_task(bind=True, queue=Queue.CPU, acks_late=True, max_retries=RETRIES)
def apply_plan(self, plan_id: int) -> None:
    """Apply one APPLYING plan; a redelivery or retry redoes only what is not done."""
    _with_retries(self, applying.execute_apply, plan_id)


@shared_task(bind=True, queue=Queue.CPU, acks_late=True, max_retries=RETRIES)
def rollback_plan(self, plan_id: int) -> None:
    """Return a failed or applied plan's targets to their recorded state."""
    _with_retries(self, applying.execute_rollback, plan_id)


@shared_task(queue=Queue.CPU)
def enact_batch_schedules() -> int:
    """Every minute (beat): applied batch plans take their targets to the interval due now."""
    return applying.enact_batch_schedules()


def _with_retries(task, work, plan_id: int) -> None:
    try:
        work(plan_id)
    except (TransientError, OperationalError) as exc:
        if task.request.retries >= task.max_retries:
            applying.fail_after_retries(plan_id, exc)
            return
        raise task.retry(exc=exc, countdown=_backoff(task.request.retries)) from exc


def _backoff(attempt: int) -> float:
    import random

    return 2 ** (attempt + 1) * (0.8 + 0.4 * random.random())
