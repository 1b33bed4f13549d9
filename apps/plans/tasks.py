"""Celery entry points for planning, and for applies and rollbacks (acks_late, retried).

Planning runs on the cpu queue, but for a plan's new forecast, which runs on the queue its model
needs (`compute_plan_forecast`: gpu for auto and lstm, which train the LSTM), and GA-PSO
optimization runs (gpu); applies, rollbacks and batch schedules on the actuation queue, so that a
change to live capacity never waits behind plan building. Each task's time limits (seconds) are on
its decorator; a task stopped by one fails its plan (`_fail_draft`, `_fail_apply`) or its run.
`apps.plans.sweeper` relies on these limits.
"""

import logging
from functools import partial

from celery import chain, chord, group
from django.db import OperationalError, transaction

from actuators.base import TransientError
from apps.forecasts import services as forecast_services
from apps.forecasts.models import ForecastRun
from apps.kernel.runs import fail_unfinished
from apps.kernel.tasks import Queue, limited_task, row_task
from apps.plans import applying, audit, guardrail_changes, services, sweeper
from apps.plans.lifecycle import PlanConflict, PlanError, fail_plan, transition
from apps.plans.models import OptimizationRun, PlanStatus, ScalingPlan

log = logging.getLogger(__name__)


def _fail_optimization_run(run_id: int, *, reason: str) -> None:
    fail_unfinished(OptimizationRun, run_id, reason)


def _fail_draft(plan_id: int, *args, reason: str) -> None:
    """A link of a plan's chain stopped by its time limit: the draft fails with the reason."""
    try:
        fail_plan(plan_id, f"building the plan {reason}")
    except PlanError:
        pass  # no longer a draft: another link finished it


def _fail_proposal(parts: list, plan_id: int, *, reason: str) -> None:
    _fail_draft(plan_id, reason=reason)


def _fail_apply(plan_id: int, *, reason: str) -> None:
    """An apply attempt stopped by its time limit fails the plan; the rollback is offered."""
    message = f"the apply {reason}; a rollback is offered"

    def still_applying(plan: ScalingPlan) -> None:
        if plan.status != PlanStatus.APPLYING:
            raise PlanConflict(f"plan {plan_id} is {plan.status}")

    try:
        transition(
            plan_id, PlanStatus.FAILED, reason=message, message=message, check=still_applying
        )
    except PlanError:
        log.warning("plan %s could not be failed: it moved on", plan_id)


def _fail_rollback(plan_id: int, *, reason: str) -> None:
    """A rollback stopped by its time limit is recorded on the trail, as a failed one is."""
    plan = ScalingPlan.objects.filter(pk=plan_id).first()
    if plan is not None:
        with transaction.atomic():
            audit.record(plan, "plan.rollback_failed", reason=f"the rollback {reason}")


# GA-PSO on a CPU when the worker has no GPU: up to 25 min, under kernel.runs.STALE_AFTER.
@row_task(Queue.GPU, soft_time_limit=1500, time_limit=1560, on_time_limit=_fail_optimization_run)
def run_optimization(run_id: int) -> None:
    """Solve one OptimizationRun; GA-PSO uses CUDA when the worker has it, else the CPU."""
    services.execute_optimization_run(run_id)


# The plan's chain: together at most 90 + 600 + 300 + 300 + 90 s, under
# sweeper.DRAFT_STUCK_AFTER (forecast_for_plan replaces itself with compute_plan_forecast).
@row_task(soft_time_limit=60, time_limit=90, on_time_limit=_fail_draft)
def forecast_for_plan(plan_id: int) -> None:
    """First link of a plan's chain: a fresh stored forecast, or a new one on its model's queue.

    A new run is computed by `compute_plan_forecast`, which replaces this link in the chain,
    on the queue its model needs: `gpu` for those that train the LSTM (auto, the plans'
    model, and lstm), `cpu` for the others. The chain goes on to `build_plan` after it.
    """
    run_id = services.forecast_to_compute(plan_id)
    if run_id is not None:
        model = ForecastRun.objects.values_list("model", flat=True).get(pk=run_id)
        queue = forecast_services.queue_for(model).value
        # Ends this task (Ignore) and sends the run, then the rest of the chain; eager: runs it.
        forecast_for_plan.replace(compute_plan_forecast.si(plan_id, run_id).set(queue=queue))


def _fail_plan_forecast(plan_id: int, run_id: int, *, reason: str) -> None:
    fail_unfinished(ForecastRun, run_id, reason)
    _fail_draft(plan_id, reason=reason)


# The forecast a plan computed inline before: the same limits; the cpu queue is its default.
@row_task(soft_time_limit=540, time_limit=600, on_time_limit=_fail_plan_forecast)
def compute_plan_forecast(plan_id: int, run_id: int) -> None:
    """A plan's new forecast run, sent by `forecast_for_plan` to the queue its model needs."""
    forecast_services.execute_forecast_run(run_id)


@row_task(soft_time_limit=240, time_limit=300, on_time_limit=_fail_draft)
def build_plan(plan_id: int) -> None:
    """Second link: problem, Pareto front, candidates; their replays fan out as a chord."""
    parts = services.pose_plan(plan_id) if services.forecast_ready(plan_id) else []
    if parts:
        measuring = group(measure_candidates.s(plan_id, indices) for indices in parts)
        chord(measuring, propose_plan.s(plan_id)).apply_async()


@row_task(keep_result=True, soft_time_limit=240, time_limit=300, on_time_limit=_fail_draft)
def measure_candidates(plan_id: int, indices: list[int]) -> list[list]:
    """One part of a plan's replays, run beside the others; its result joins the chord."""
    return services.measure_part(plan_id, indices)


@row_task(soft_time_limit=60, time_limit=90, on_time_limit=_fail_proposal)
def propose_plan(parts: list[list[list]], plan_id: int) -> None:
    """The chord's body: every part replayed, the plan is proposed (or refused)."""
    services.propose_plan(plan_id, parts)


def plan_chain(plan_id: int):
    """The chain a requested plan runs through; `.apply_async()` sends it.

    Its first link expires when the sweeper would fail the draft (`sweeper.DRAFT_STUCK_AFTER`):
    a backlog never builds a plan that is already failed.
    """
    first = forecast_for_plan.si(plan_id).set(expires=FIRST_LINK_EXPIRES_S)
    return chain(first, build_plan.si(plan_id))


FIRST_LINK_EXPIRES_S = sweeper.DRAFT_STUCK_AFTER.total_seconds()


@limited_task(Queue.CPU)
def expire_plans() -> int:
    """Celery beat: expire plans, and pending guardrail changes, past their time to live."""
    return services.expire_due_plans() + guardrail_changes.expire_due_changes()


@limited_task(Queue.CPU)
def request_scheduled_plans() -> int:
    """Celery beat: request the plans whose schedule is due."""
    return services.request_scheduled_plans()


@limited_task(Queue.CPU)
def sweep_stuck_plans() -> int:
    """Celery beat, every 5 minutes: fail plans stuck in draft or applying (apps.plans.sweeper)."""
    return sweeper.sweep_stuck_plans()


RETRIES = 6  # backoff 2, 4, 8 ... 64 s (jittered): about two minutes of throttling or 5xx
# One attempt of an apply or rollback: every target set and read back, each call under 10 s.
APPLY_SOFT_LIMIT_S = 100
APPLY_LIMIT_S = 120


@limited_task(
    Queue.ACTUATION,
    bind=True,
    acks_late=True,
    max_retries=RETRIES,
    soft_time_limit=APPLY_SOFT_LIMIT_S,
    time_limit=APPLY_LIMIT_S,
    on_time_limit=_fail_apply,
)
def apply_plan(self, plan_id: int) -> None:
    """Apply one APPLYING plan; a redelivery or retry redoes only what is not done."""
    claim = self.request.id or "local"  # the same across the task's retries
    _with_retries(self, partial(applying.execute_apply, claim=claim), plan_id)


@limited_task(
    Queue.ACTUATION,
    bind=True,
    acks_late=True,
    max_retries=RETRIES,
    soft_time_limit=APPLY_SOFT_LIMIT_S,
    time_limit=APPLY_LIMIT_S,
    on_time_limit=_fail_rollback,
)
def rollback_plan(self, plan_id: int) -> None:
    """Return a failed or applied plan's targets to their recorded state."""
    _with_retries(self, applying.execute_rollback, plan_id)


@limited_task(Queue.ACTUATION, soft_time_limit=50, time_limit=60)
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
