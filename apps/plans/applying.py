"""Applying an approved plan, rolling one back, and running batch plans' schedules.

An apply records each target's observed state before its first step, then takes every target
to what the plan asks (`desired_for`, through `apps.actuation.services.converge`: each step
keyed, read back and audited on the plan). The first failure stops the apply, fails the plan
and leaves the rollback to the SRE. An applied batch plan's targets follow its schedule hour
by hour (`enact_batch_schedules`).
"""

import logging
import math
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from actuators.base import TransientError
from actuators.targets import TARGET_KIND, desired_state
from apps.actuation.models import ApplyStep
from apps.actuation.services import converge
from apps.plans import audit
from apps.plans.lifecycle import PlanError, transition
from apps.plans.models import PlanStatus, ScalingPlan, frozen_target
from apps.workloads.models import DeploymentTarget, Workload

log = logging.getLogger(__name__)


def desired_for(plan: ScalingPlan, kind: str, pool: str = "") -> dict[str, int]:
    """The settings the plan's chosen candidate asks of a target of `kind` (carrying `pool`).

    A batch plan's are what runs now once it is applied (`batch_in_force`).
    """
    if plan.is_batch:
        running, index, _ = batch_in_force(plan.workload_id, timezone.now(), plan)
        return batch_desired(running, index, kind, pool)
    chosen = plan.chosen
    serverless = plan.problem.get("serverless") or {}
    to_functions = chosen.serverless_rps
    planned = (plan.problem.get("demand") or {}).get("rps", [[]])[-1]  # its highest quantile
    share = to_functions[0] / planned[0] if to_functions and planned and planned[0] > 0 else 0.0
    return desired_state(
        kind,
        chosen.pools(plan.option_of()),
        serverless_rps=to_functions,
        serverless_duration_ms=serverless.get("duration_ms", 0.0),
        serverless_share=share,
        pool=pool,
    )


CLAIM_STALE_AFTER = timedelta(minutes=15)  # a copy silent this long is taken to be dead


def claim_apply(plan_id: int, claim: str) -> bool:
    """Take the APPLYING plan for one copy of its apply task; False while another holds it.

    `claim` names the copy (the task's id, the same across its retries); a claim left by a
    copy silent for `CLAIM_STALE_AFTER` (its worker died) may be taken over.
    """
    now = timezone.now()
    free = (
        Q(apply_claim="") | Q(apply_claim=claim) | Q(apply_claimed_at__lt=now - CLAIM_STALE_AFTER)
    )
    taken = ScalingPlan.objects.filter(free, pk=plan_id, status=PlanStatus.APPLYING).update(
        apply_claim=claim, apply_claimed_at=now
    )
    return bool(taken)


def approved_targets(plan: ScalingPlan) -> list[DeploymentTarget] | str:
    """The targets the plan froze at proposal, as they still are; else why not (a message).

    An approval covers the targets a plan names, so a target removed or changed since (kind,
    reference, dry run, pool) stops the apply rather than send approved replicas elsewhere. A
    plan from before targets were frozen applies to its workload's targets.
    """
    rows = list(plan.workload.targets.order_by("pk"))
    if not plan.targets:
        return rows
    by_id = {row.pk: row for row in rows}
    approved = []
    for frozen in plan.targets:
        row = by_id.get(frozen["id"])
        name = f"{frozen['kind']}:{frozen['reference']}"
        if row is None:
            return f"target {name} was removed after the plan was proposed"
        if frozen_target(row) != frozen:
            return (
                f"target {name} changed after the plan was proposed (now "
                f"{row.kind}:{row.reference}, dry_run {row.dry_run}, pool {row.pool or 'all'})"
            )
        approved.append(row)
    return approved


def execute_apply(plan_id: int, claim: str = "local") -> None:
    """Apply an APPLYING plan to the targets it froze; TransientError propagates (retries).

    One copy at a time (`claim_apply`, `claim` naming the task, the same across its retries and
    redeliveries; calls without one, from a shell or a test, count as one copy); another copy
    returns at once.
    """
    plan = ScalingPlan.objects.select_related("workload__team").get(pk=plan_id)
    if plan.status != PlanStatus.APPLYING or not claim_apply(plan_id, claim):
        return
    targets = approved_targets(plan)
    if isinstance(targets, str) or not targets:
        message = (
            f"{targets}: nothing was applied; request a new plan"
            if targets
            else "no deployment target: add one (dry_run by default), then re-plan"
        )
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
        reason=applied_reason(targets),
        applied_at=timezone.now(),
    )


def how_applied(target: dict) -> str:
    """Whether an apply changes `target` (as a plan freezes it) outside Ballast, in words."""
    kind = TARGET_KIND.get(target["kind"])
    where = "Kubernetes" if kind is not None and kind.platform == "kubernetes" else "AWS"
    if target["dry_run"]:
        return f"dry run: recorded by Ballast, nothing changed in {where}"
    return f"live: changed in {where} and read back"


def applied_reason(targets: list[DeploymentTarget]) -> str:
    """The applied event's reason: each target, and whether it was a dry run or live."""
    live = sum(not t.dry_run for t in targets)
    count = (
        f"{len(targets)} target{'s' if len(targets) != 1 else ''} "
        f"({live} live, {len(targets) - live} dry run)"
    )
    each = "; ".join(
        f"{t.kind}:{t.reference}{f' [{t.pool}]' if t.pool else ''}: {how_applied(frozen_target(t))}"
        for t in targets
    )
    return f"{count} set: {each}"


def execute_rollback(plan_id: int) -> None:
    """Return every target the plan touched to its recorded state, then mark it rolled back."""
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
        target,
        desired,
        purpose=purpose,
        key_prefix=f"{purpose}/plan-{plan.pk}",
        plan=plan,
        on_step=audit_step(plan),
    )


def audit_step(plan: ScalingPlan) -> Callable[[ApplyStep], None]:
    """What records each finished step of `plan`'s apply, rollback or schedule on its trail."""

    def record(row: ApplyStep) -> None:
        audit.record(
            plan,
            f"plan.{row.purpose}_step",
            reason=row.detail,
            detail={
                "key": row.key,
                "target": row.target_id,
                "setting": row.setting,
                "before": row.before,
                "after": row.after,
                "dry_run": row.dry_run,
                "verified": row.verified,
                "status": row.status,
            },
        )

    return record


BATCH_LOOKBACK = timedelta(days=8)  # a batch window lasts 7 days at most


def window_interval(plan: ScalingPlan, at: datetime) -> int | None:
    """The index of the batch plan's interval at `at`, or None outside its window."""
    index = math.floor((at - plan.start_at).total_seconds() / plan.interval_s)
    return index if 0 <= index < len(plan.chosen.schedule) else None


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
        p.start_at + timedelta(seconds=len(p.chosen.schedule) * p.interval_s)
        for p in plans
        if p.is_batch
    ]
    idle = max([t for t in ends if t <= at] + [p.applied_at or at for p in plans], default=at)
    return None, None, f"workload-{workload_id}/idle-since-{idle:%Y%m%dT%H%M%S}"


def batch_desired(
    plan: ScalingPlan | None, index: int | None, kind: str, pool: str = ""
) -> dict[str, int]:
    """What a batch workload's target of `kind` carries: the interval's replicas, or none."""
    if plan is None or index is None:
        return desired_state(kind, [{}], pool=pool)
    return desired_state(kind, [plan.chosen.pools(plan.option_of())[index]], pool=pool)


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
            if plan is not None and not target.dry_run and not plan.covers(target):
                log.warning(
                    "batch workload %s: %s:%s changed since plan %s was approved; left alone",
                    workload_id,
                    target.kind,
                    target.reference,
                    plan.pk,
                )
                continue
            try:
                failure = converge(
                    target,
                    batch_desired(plan, index, target.kind, target.pool),
                    purpose=ApplyStep.Purpose.CONTROL,
                    key_prefix=f"schedule/{key}",
                    plan=plan,
                    on_step=audit_step(plan) if plan is not None else None,
                )
            except TransientError as exc:
                failure = f"{exc} (the next minute retries)"
            if failure:
                log.warning("batch workload %s (%s): %s", workload_id, key, failure)
    return len(workloads)


def fail_after_retries(plan_id: int, error: Exception) -> None:
    """A transient failure that outlasted the retries fails the plan (rollback offered)."""
    message = f"gave up after retries: {error}; a rollback is offered"
    try:
        transition(plan_id, PlanStatus.FAILED, reason=message, message=message)
    except PlanError:
        log.warning("plan %s could not be failed: it moved on", plan_id)
