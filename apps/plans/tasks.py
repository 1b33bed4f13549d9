"""Celery entry points for planning."""

from celery import chain, chord, group, shared_task

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
