"""What people decide on a plan, who may, and when.

Approve, reject, choose a candidate, start an apply or a rollback.
"""

import logging

from django.db import transaction
from django.utils import timezone

from apps.accounts import roles
from apps.accounts.models import TokenScope
from apps.plans import audit, planner
from apps.plans.lifecycle import (
    GuardrailBroken,
    PlanConflict,
    PlanError,
    PlanForbidden,
    expire_if_due,
    transition,
)
from apps.plans.models import PlanStatus, ScalingPlan
from apps.workloads.models import Workload
from optimization.guardrails import PlanShape, auto_approvable, check_plan, check_window
from policies.candidate import PlanCandidate

log = logging.getLogger(__name__)

S = PlanStatus


def shape_of(candidate: PlanCandidate, current_replicas: int, problem: dict | None) -> PlanShape:
    """What the guardrails read of one candidate.

    `current_replicas` run now; `problem` is the plan's stored problem, whose SLA the candidate
    is held to.
    """
    sla = (problem or {}).get("sla")
    late = candidate.judged[1]
    if (problem or {}).get("kind") == "batch":
        return PlanShape(
            replicas=list(candidate.replicas),
            purchase_options=list(candidate.purchase_options),
            cost_per_day_usd=candidate.cost_per_day_usd,
            current_replicas=0,  # a run starts from none
            sla_risk=late,
            sla_allowed_late=problem["deadline_miss_allowed"],
            late_what="of simulated runs miss the deadline",
        )
    return PlanShape(
        replicas=list(candidate.replicas),
        purchase_options=list(candidate.purchase_options),
        cost_per_day_usd=candidate.cost_per_day_usd,
        current_replicas=current_replicas,
        sla_risk=late,
        sla_allowed_late=1 - sla["latency_percentile"] / 100 if sla else None,
    )


def auto_approve(plan: ScalingPlan, rules) -> None:
    """Approve a small change without a human when the team turned the rule on."""
    if plan.current_cost_per_day_usd is None or plan.delta_cost_per_day_usd is None:
        return
    if plan.chosen and not plan.chosen.meets_sla:
        return  # a plan that breaks its SLA waits for a person, whatever the change
    ok, why = auto_approvable(
        rules,
        current_cost_per_day_usd=plan.current_cost_per_day_usd,
        delta_cost_per_day_usd=plan.delta_cost_per_day_usd,
    )
    if not ok:
        return
    try:
        transition(
            plan.pk,
            S.APPROVED,
            reason=f"auto-approve rule: {why}",
            check=approvable_check(plan.workload),
            auto_approved=True,
            decided_at=timezone.now(),
        )
    except PlanError as exc:
        log.info("plan %s not auto-approved: %s", plan.pk, exc.reason)


def decision_refusal(plan: ScalingPlan, user, auth, *, approving: bool) -> str | None:
    """Why `user` may not approve (or reject) `plan`, or None when they may."""
    if approving and user.pk == plan.requested_by_id:
        return "four eyes: whoever requested a plan cannot approve it"
    if approving and user.pk == plan.chosen_by_id:
        return "four eyes: whoever chose the candidate cannot approve it"
    return roles.authorize(user, auth, plan.workload.team, TokenScope.APPROVE_PLANS)


def approvable_check(workload: Workload):
    """The check `transition` runs under the plan's lock before approving or applying.

    The guardrails and the live state (which asks every deployment target over the network)
    are read here, before the lock is taken, so that no row stays locked during those calls;
    under the lock the check only compares: not expired, the targets those the plan froze, not
    stale, the chosen candidate within the guardrails, now inside a change window.
    """
    rules = planner.guardrails_for(workload)
    live = planner.live_state(workload)
    targets = planner.frozen_targets(workload)

    def check(plan: ScalingPlan) -> None:
        if plan.expires_at <= timezone.now():
            raise PlanConflict(f"plan {plan.pk} expired at {plan.expires_at:%Y-%m-%d %H:%M} UTC")
        if plan.targets and targets != plan.targets:
            raise PlanConflict(
                "stale: the workload's deployment targets changed since this plan was proposed "
                "(an approval covers the targets it names); request a new plan"
            )
        if live.fingerprint != plan.live_fingerprint:
            raise PlanConflict(
                "stale: the live state changed since this plan was made (another plan was "
                "applied or a target changed); request a new plan"
            )
        checks = check_plan(
            shape_of(plan.chosen, sum(live.allocation.values()), plan.problem), rules
        )
        window = check_window(rules, timezone.now())
        for verdict in [*checks, *([window] if window else [])]:
            if not verdict.ok and verdict.blocking:
                raise GuardrailBroken(
                    f"guardrail {verdict.rule}: {verdict.detail}", rule=verdict.rule
                )

    return check


def approve_plan(plan_id: int, *, user, auth=None, via: str, comment: str = "") -> ScalingPlan:
    """Approve the chosen candidate: four eyes, role or scope, not expired, within guardrails."""
    plan = ScalingPlan.objects.select_related("workload__team").get(pk=plan_id)
    refusal = decision_refusal(plan, user, auth, approving=True)
    if refusal:
        raise PlanForbidden(refusal)
    if plan.status in (S.PROPOSED, S.APPROVED) and plan.expires_at <= timezone.now():
        expire_if_due(plan_id)
        raise PlanConflict(f"plan {plan_id} expired at {plan.expires_at:%Y-%m-%d %H:%M} UTC")
    if plan.status != S.PROPOSED:
        raise PlanConflict(_state_refusal(plan, "approved"))
    return transition(
        plan_id,
        S.APPROVED,
        user=user,
        via=via,
        comment=comment,
        check=approvable_check(plan.workload),
        decided_by=user,
        decided_at=timezone.now(),
        decision_comment=comment,
    )


def reject_plan(plan_id: int, *, user, auth=None, via: str, comment: str = "") -> ScalingPlan:
    """Reject a proposed or approved plan (the requester may withdraw their own)."""
    plan = ScalingPlan.objects.select_related("workload__team").get(pk=plan_id)
    refusal = decision_refusal(plan, user, auth, approving=False)
    if refusal and user.pk != plan.requested_by_id:
        raise PlanForbidden(refusal)
    if plan.status not in (S.PROPOSED, S.APPROVED):
        raise PlanConflict(_state_refusal(plan, "rejected"))
    return transition(
        plan_id,
        S.REJECTED,
        user=user,
        via=via,
        comment=comment,
        reason=comment,
        decided_by=user,
        decided_at=timezone.now(),
        decision_comment=comment,
    )


def choose_candidate(
    plan_id: int, index: int, *, user, auth=None, via: str, reason: str
) -> ScalingPlan:
    """An SRE picks another point of the front before approving; the choice is recorded.

    Requester, chooser and approver are three people: the requester may not choose.
    """
    if not reason.strip():
        raise PlanError("reason: say why this candidate rather than the recommended one")
    workload = ScalingPlan.objects.select_related("workload__team").get(pk=plan_id).workload
    rules = planner.guardrails_for(workload)
    live = planner.live_state(workload)  # targets are asked before the row is locked
    with transaction.atomic():
        plan = (
            ScalingPlan.objects.select_for_update().select_related("workload__team").get(pk=plan_id)
        )
        refusal = decision_refusal(plan, user, auth, approving=False)
        if user.pk == plan.requested_by_id:
            refusal = "four eyes: whoever requested a plan cannot choose its candidate"
        if refusal:
            raise PlanForbidden(refusal)
        if plan.status != S.PROPOSED:
            raise PlanConflict(_state_refusal(plan, "changed"))
        if not 0 <= index < len(plan.front):
            raise PlanError(f"candidate: must be between 0 and {len(plan.front) - 1}, got {index}")
        checks = check_plan(
            shape_of(plan.candidates()[index], sum(live.allocation.values()), plan.problem), rules
        )
        broken = [c for c in checks if not c.ok and c.blocking]
        if broken:
            raise GuardrailBroken(
                f"candidate {index} breaks guardrail {broken[0].rule}: {broken[0].detail}",
                rule=broken[0].rule,
            )
        previous = plan.chosen_index
        ScalingPlan.objects.filter(pk=plan_id).update(
            chosen_index=index,
            choice_reason=reason,
            chosen_by=user,
            guardrail_checks=[c.to_dict() for c in checks],
            updated_at=timezone.now(),
        )
        plan.refresh_from_db()
        audit.record(
            plan,
            "plan.candidate_chosen",
            user=user,
            via=via,
            from_status=plan.status,
            to_status=plan.status,
            reason=reason,
            detail={"from_index": previous, "to_index": index, "candidate": plan.front[index]},
        )
    return plan


def _state_refusal(plan: ScalingPlan, verb: str) -> str:
    if plan.status == S.SUPERSEDED:
        return f"plan {plan.pk} was superseded ({plan.message}); it cannot be {verb}"
    if plan.status == S.EXPIRED:
        return f"plan {plan.pk} expired; it cannot be {verb}"
    return f"plan {plan.pk} is {plan.status}; it cannot be {verb}"


def apply_refusal(plan: ScalingPlan, user, auth) -> str | None:
    """Why `user` may not start the apply of `plan`, or None.

    An auto-approved plan had no second person: whoever starts its apply is, so it may not be
    its requester (auto-approval counts as no one). A plan a person approved may be applied by
    anyone with the role or scope, its requester too: two people already agreed.
    """
    if plan.auto_approved and user.pk == plan.requested_by_id:
        return (
            "four eyes: this plan was approved automatically, so someone other than its "
            "requester must start its apply"
        )
    return roles.authorize(user, auth, plan.workload.team, TokenScope.APPLY_PLANS)


def start_apply(plan_id: int, *, user, auth=None, via: str) -> ScalingPlan:
    """APPROVED -> APPLYING once more checks pass (live state, window), then queue the steps."""
    from apps.plans import tasks  # tasks imports this module

    plan = ScalingPlan.objects.select_related("workload__team").get(pk=plan_id)
    refusal = apply_refusal(plan, user, auth)
    if refusal:
        raise PlanForbidden(refusal)
    if plan.status == S.APPROVED and plan.expires_at <= timezone.now():
        expire_if_due(plan_id)
        raise PlanConflict(f"plan {plan_id} expired at {plan.expires_at:%Y-%m-%d %H:%M} UTC")
    if plan.status != S.APPROVED:
        raise PlanConflict(_state_refusal(plan, "applied") + " (only approved plans apply)")
    with transaction.atomic():
        check = approvable_check(plan.workload)
        plan = transition(plan_id, S.APPLYING, user=user, via=via, check=check)
        transaction.on_commit(lambda: tasks.apply_plan.delay(plan_id))
    return plan


def start_rollback(plan_id: int, *, user, auth=None, via: str) -> ScalingPlan:
    """Queue the return of a failed or applied plan's targets to their recorded state."""
    from apps.plans import tasks  # tasks imports this module

    plan = ScalingPlan.objects.select_related("workload__team").get(pk=plan_id)
    refusal = apply_refusal(plan, user, auth)
    if refusal:
        raise PlanForbidden(refusal)
    if plan.status not in (S.FAILED, S.APPLIED):
        raise PlanConflict(
            f"plan {plan_id} is {plan.status}; only failed or applied plans roll back"
        )
    if not plan.recorded_states.exists():
        raise PlanConflict(f"plan {plan_id} changed nothing, so there is nothing to roll back")
    with transaction.atomic():
        audit.record(plan, "plan.rollback_requested", user=user, via=via, from_status=plan.status)
        transaction.on_commit(lambda: tasks.rollback_plan.delay(plan_id))
    return plan
