"""Applying an approved plan and rolling one back: steps on every target, each read back.

An apply records each target's observed state before its first step, then sets what the plan
asks (`actuators.targets.desired_state`) one setting at a time, in an order that keeps the
target valid, each under an idempotency key stored as an `ApplyStep` row before the call. A
redelivered task recomputes the steps from the observed state, so what was done is not done
again. The first failure stops the apply, fails the plan and leaves the rollback to the SRE.
"""

import logging
import math
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from actuators.base import PermanentError, TransientError, plan_steps
from actuators.targets import desired_state, order_steps
from apps.actuation.models import ApplyStep, RecordedState
from apps.actuation.registry import actuator_for, target_name
from apps.plans import audit
from apps.plans.models import PlanStatus, ScalingPlan
from apps.workloads.models import Workload

log = logging.getLogger(__name__)


def desired_for(plan: ScalingPlan, kind: str, pool: str = "") -> dict[str, int]:
    """The settings the plan's chosen candidate asks of a target of `kind` (carrying `pool`).

    A batch plan's are what runs now once it is applied (`batch_in_force`).
    """
    if plan.is_batch:
        return batch_desired(*batch_in_force(plan.workload_id, timezone.now(), plan), kind, pool)
    chosen = plan.chosen
    options = {o["name"]: o["purchase_option"] for o in plan.problem["offers"]}
    serverless = plan.problem.get("serverless") or {}
    to_functions = chosen.get("serverless_rps", [])
    planned = (plan.problem.get("demand") or {}).get("rps", [[]])[-1]  # its highest quantile
    share = to_functions[0] / planned[0] if to_functions and planned and planned[0] > 0 else 0.0
    return desired_state(
        kind,
        chosen["schedule"],
        options,
        serverless_rps=to_functions,
        serverless_duration_ms=serverless.get("duration_ms", 0.0),
        serverless_share=share,
        pool=pool,
    )


def execute_apply(plan_id: int) -> None:
    """Apply an APPLYING plan; TransientError propagates so that the task retries."""
    from apps.plans.services import transition

    plan = ScalingPlan.objects.select_related("workload__team").get(pk=plan_id)
    if plan.status != PlanStatus.APPLYING:
        return
    targets = list(plan.workload.targets.order_by("pk"))
    if not targets:
        message = "no deployment target: add one (dry_run by default), then re-plan"
        transition(plan_id, PlanStatus.FAILED, reason=message, message=message)
        return
    for target in targets:
        failure = _converge_for_plan(
            plan, target, desired_for(plan, target.kind, target.pool), ApplyStep.Purpose.APPLY
        )
        if failure:
            message = f"{failure}; nothing more was applied, and a rollback is offered"
            transition(plan_id, PlanStatus.FAILED, reason=message, message=message)
            return
    transition(
        plan_id,
        PlanStatus.APPLIED,
        reason=f"{len(targets)} target(s) set and read back",
        applied_at=timezone.now(),
    )


BATCH_LOOKBACK = timedelta(days=8)  # a batch window lasts 7 days at most


def window_interval(plan: ScalingPlan, at: datetime) -> int | None:
    """The index of the batch plan's interval at `at`, or None outside its window."""
    index = math.floor((at - plan.start_at).total_seconds() / plan.interval_s)
    return index if 0 <= index < len(plan.chosen["schedule"]) else None


def batch_in_force(
    workload_id: int, at: datetime, applying: ScalingPlan | None = None
) -> tuple[ScalingPlan | None, int | None, str]:
    """(the batch plan running at `at`, its interval, the key of what runs then).

    Of the workload's applied batch plans (with `applying`, the one being applied), the most
    recently applied whose window covers `at`; none outside every window, when no replica runs.
    Applying tomorrow's plan therefore leaves tonight's run alone. The key names the plan and
    interval, or the last moment the workload went idle (a window's end, or an apply), so that
    each change is made once however often it is asked for.
    """
    plans = list(
        ScalingPlan.objects.filter(
            workload_id=workload_id,
            status=PlanStatus.APPLIED,
            start_at__gte=at - BATCH_LOOKBACK,
            applied_at__lte=at,
        )
    )
    plans += [applying] if applying is not None else []
    covering = [p for p in plans if p.is_batch and window_interval(p, at) is not None]
    if covering:
        plan = max(covering, key=lambda p: (p.applied_at or at, p.pk))
        index = window_interval(plan, at)
        return plan, index, f"plan-{plan.pk}/interval-{index}"
    ends = [
        p.start_at + timedelta(seconds=len(p.chosen["schedule"]) * p.interval_s)
        for p in plans
        if p.is_batch
    ]
    idle = max([t for t in ends if t <= at] + [p.applied_at or at for p in plans], default=at)
    return None, None, f"workload-{workload_id}/idle-since-{idle:%Y%m%dT%H%M%S}"


def batch_desired(
    plan: ScalingPlan | None, index: int | None, key: str, kind: str, pool: str = ""
) -> dict[str, int]:
    """What a batch workload's target of `kind` carries: the interval's replicas, or none."""
    if plan is None or index is None:
        return desired_state(kind, [[]], {}, pool=pool)
    options = {o["name"]: o["purchase_option"] for o in plan.problem["offers"]}
    return desired_state(kind, [plan.chosen["schedule"][index]], options, pool=pool)


def enact_batch_schedules(now: datetime | None = None) -> int:
    """Every minute (beat): each batch workload's targets carry what its plans run now.

    In an applied plan's window, the interval's replicas per offer (spot, then on-demand near
    the deadline); outside every window, none (`batch_in_force`). Each change runs under a key
    naming the plan and interval (or the idle spell), so a repeated or overlapping tick does
    nothing twice; a plan's changes are audited on it. Returns the workloads stepped.
    """
    now = now or timezone.now()
    workloads = set(
        ScalingPlan.objects.filter(
            workload__kind=Workload.Kind.BATCH,
            status=PlanStatus.APPLIED,
            start_at__gte=now - BATCH_LOOKBACK,
        ).values_list("workload_id", flat=True)
    )
    for workload_id in sorted(workloads):
        plan, index, key = batch_in_force(workload_id, now)
        for target in Workload.objects.get(pk=workload_id).targets.order_by("pk"):
            try:
                failure = converge(
                    target,
                    batch_desired(plan, index, key, target.kind, target.pool),
                    purpose=ApplyStep.Purpose.CONTROL,
                    key_prefix=f"schedule/{key}",
                    plan=plan,
                )
            except TransientError as exc:
                failure = f"{exc} (the next minute retries)"
            if failure:
                log.warning("batch workload %s (%s): %s", workload_id, key, failure)
    return len(workloads)


def execute_rollback(plan_id: int) -> None:
    """Return every target the plan touched to its recorded state, then mark it rolled back."""
    from apps.plans.services import transition

    plan = ScalingPlan.objects.select_related("workload__team").get(pk=plan_id)
    if plan.status not in (PlanStatus.FAILED, PlanStatus.APPLIED):
        return
    for recorded in plan.recorded_states.select_related("target").order_by("pk"):
        failure = _converge_for_plan(
            plan, recorded.target, recorded.state, ApplyStep.Purpose.ROLLBACK
        )
        if failure:
            with transaction.atomic():
                audit.record(plan, "plan.rollback_failed", reason=failure)
            return
    transition(plan_id, PlanStatus.ROLLED_BACK, reason="targets returned to their recorded state")


def _converge_for_plan(plan: ScalingPlan, target, desired: dict[str, int], purpose: str):
    return converge(
        target, desired, purpose=purpose, key_prefix=f"{purpose}/plan-{plan.pk}", plan=plan
    )


def converge(
    target, desired: dict[str, int], *, purpose: str, key_prefix: str, plan=None
) -> str | None:
    """Take one target to `desired`; the failure's description, or None when it got there.

    Each step runs under the key f"{key_prefix}/target-{pk}/{setting}={value}", recorded as an
    `ApplyStep` before the call, so a step already done under that key is not done again. Plan
    steps (applies, rollbacks) are audited one by one; the controller's (`plan` None) are
    summed up in its own coalesced audit events.

    Raises:
        TransientError: what a retry may fix; the step's row stays pending.
    """
    try:
        actuator = actuator_for(target)
        observed = actuator.describe()
    except PermanentError as exc:
        return f"{target_name(target)}: {exc}"
    if purpose == ApplyStep.Purpose.APPLY:
        RecordedState.objects.get_or_create(plan=plan, target=target, defaults={"state": observed})
    for step in order_steps(plan_steps(actuator.target, observed, desired), observed):
        key = f"{key_prefix}/target-{target.pk}/{step.setting}={step.after}"
        row, _ = ApplyStep.objects.get_or_create(
            key=key,
            defaults={
                "plan": plan,
                "target": target,
                "purpose": purpose,
                "setting": step.setting,
                "before": step.before,
                "after": step.after,
                "dry_run": actuator.dry_run,
            },
        )
        if row.status == ApplyStep.Status.APPLIED:
            continue
        try:
            result = actuator.apply(step, key)
            verified = actuator.verify(step)
        except TransientError:
            raise  # the task retries with backoff; the row stays pending
        except PermanentError as exc:
            _finish(row, plan, ApplyStep.Status.FAILED, False, str(exc))
            return f"{step.describe()} failed: {exc}"
        status = ApplyStep.Status.APPLIED if verified else ApplyStep.Status.FAILED
        _finish(row, plan, status, verified, result.detail)
        if not verified:
            return f"{step.describe()} did not read back"
    return None


def _finish(row: ApplyStep, plan, status: str, verified: bool, detail: str) -> None:
    with transaction.atomic():
        ApplyStep.objects.filter(pk=row.pk).update(
            status=status, verified=verified, detail=detail, finished_at=timezone.now()
        )
        if plan is None:
            return
        audit.record(
            plan,
            f"plan.{row.purpose}_step",
            reason=detail,
            detail={
                "key": row.key,
                "target": row.target_id,
                "setting": row.setting,
                "before": row.before,
                "after": row.after,
                "dry_run": row.dry_run,
                "verified": verified,
                "status": status,
            },
        )


def fail_after_retries(plan_id: int, error: Exception) -> None:
    """A transient failure that outlasted the retries fails the plan (rollback offered)."""
    from apps.plans.services import PlanError, transition

    message = f"gave up after retries: {error}; a rollback is offered"
    try:
        transition(plan_id, PlanStatus.FAILED, reason=message, message=message)
    except PlanError:
        log.warning("plan %s could not be failed: it moved on", plan_id)
