"""Taking a deployment target to a desired state: one step at a time, each keyed and read back.

The lower layer under plans and the live controller: it knows targets, actuators and steps,
not plans' states. Steps set absolute values in an order that keeps the target valid
(`actuators.targets.order_steps`), each under an idempotency key stored as an `ApplyStep` row
before the call, so a redelivered task recomputes the steps from the observed state and does
nothing twice.
"""

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from actuators.base import PermanentError, TransientError, plan_steps
from actuators.targets import order_steps
from apps.actuation.models import ApplyStep, RecordedState
from apps.actuation.registry import actuator_for, target_name


def converge(
    target,
    desired: dict[str, int],
    *,
    purpose: str,
    key_prefix: str,
    plan=None,
    on_step: Callable[[ApplyStep], None] | None = None,
) -> str | None:
    """Take one target to `desired`; the failure's description, or None when it got there.

    Each step runs under the key f"{key_prefix}/target-{pk}/{setting}={value}", recorded as an
    `ApplyStep` (of `plan`, when a plan's) before the call, so a step already done under that
    key is not done again. `on_step` gets each finished step's row in the transaction that
    finishes it (a plan's apply audits it there); the controller's steps are summed up in its
    own coalesced audit events.

    Raises:
        TransientError: what a retry may fix; the step's row stays pending.
    """
    try:
        actuator = actuator_for(target, plan_id=plan.pk if plan is not None else None)
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
            _finish(row, ApplyStep.Status.FAILED, False, str(exc), on_step)
            return f"{step.describe()} failed: {exc}"
        status = ApplyStep.Status.APPLIED if verified else ApplyStep.Status.FAILED
        _finish(row, status, verified, result.detail, on_step)
        if not verified:
            return f"{step.describe()} did not read back"
    return None


def _finish(
    row: ApplyStep,
    status: str,
    verified: bool,
    detail: str,
    on_step: Callable[[ApplyStep], None] | None,
) -> None:
    with transaction.atomic():
        ApplyStep.objects.filter(pk=row.pk).update(
            status=status, verified=verified, detail=detail, finished_at=timezone.now()
        )
        if on_step is not None:
            row.status, row.verified, row.detail = status, verified, detail
            on_step(row)
