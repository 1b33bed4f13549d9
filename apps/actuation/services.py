"""Applying an approved plan and rolling one back: steps on every target, each read back.

An apply records each target's observed state before its first step, then sets what the plan
asks (`actuators.targets.desired_state`) one setting at a time, in an order that keeps the
target valid, each under an idempotency key stored as an `ApplyStep` row before the call. A
redelivered task recomputes the steps from the observed state, so what was done is not done
again. The first failure stops the apply, fails the plan and leaves the rollback to the SRE.
"""

import logging

from django.db import transaction
from django.utils import timezone

from actuators.base import PermanentError, TransientError, plan_steps
from actuators.targets import desired_state, order_steps
from apps.actuation.models import ApplyStep, RecordedState
from apps.actuation.registry import actuator_for, target_name
from apps.plans import audit
from apps.plans.models import PlanStatus, ScalingPlan

log = logging.getLogger(__name__)


def desired_for(plan: ScalingPlan, kind: str, pool: str = "") -> dict[str, int]:
    """The settings the plan's chosen candidate asks of a target of `kind` (carrying `pool`)."""
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
