"""Celery entry points for planning."""

from celery import chain, shared_task

from apps.plans import services
from controlplane.celery import Queue, row_task


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
    """Second link: problem, Pareto front, recommended point, proposal (or refusal)."""
    services.build_plan(plan_id)


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
