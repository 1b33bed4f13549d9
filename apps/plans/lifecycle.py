"""A scaling plan's states and the one way between them.

`transition` checks a move under a row lock and a conditional update, appends it to the audit
trail and fires the plan's webhook; failures, supersession and expiry go through it.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.plans import audit
from apps.plans.models import PlanStatus, ScalingPlan
from apps.webhooks import services as webhooks


class PlanError(Exception):
    """A plan action refused; `reason` says why in a sentence a user can act on."""

    status_code = 409

    def __init__(self, reason: str, *, rule: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.rule = rule


class PlanConflict(PlanError):
    """The plan is not in a state that allows the action (expired, superseded, applied...)."""


class PlanForbidden(PlanError):
    """The user may not take this action on this plan."""

    status_code = 403


class GuardrailBroken(PlanError):
    """The plan breaks a guardrail; `rule` names it."""


S = PlanStatus


# Every allowed move; anything else is refused by `transition`.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.PROPOSED, S.REJECTED, S.FAILED, S.SUPERSEDED}),
    S.PROPOSED: frozenset({S.APPROVED, S.REJECTED, S.EXPIRED, S.SUPERSEDED}),
    S.APPROVED: frozenset({S.APPLYING, S.REJECTED, S.EXPIRED, S.SUPERSEDED}),
    S.APPLYING: frozenset({S.APPLIED, S.FAILED}),
    S.APPLIED: frozenset({S.ROLLED_BACK}),
    S.FAILED: frozenset({S.ROLLED_BACK}),
}


WEBHOOK_EVENTS = {
    S.PROPOSED: "plan.proposed",
    S.APPROVED: "plan.approved",
    S.APPLIED: "plan.applied",
}


def plan_ttl() -> timedelta:
    """How long a proposed or approved plan stays valid (BALLAST_PLAN_TTL_MINUTES, 120)."""
    return timedelta(minutes=settings.PLAN_TTL_MINUTES)


def transition(
    plan_id: int,
    to: str,
    *,
    user=None,
    via: str = "system",
    reason: str = "",
    comment: str = "",
    detail: dict | None = None,
    check=None,
    **fields,
) -> ScalingPlan:
    """Move a plan to `to` under a row lock, record it in the audit trail, fire its webhook.

    `check(plan)` runs under the lock before the move and may raise a PlanError. The UPDATE is
    conditional on the status read under the lock as well, so two racing callers (on a database
    without row locks, SQLite) still give one transition: the other gets PlanConflict.
    """
    now = timezone.now()
    with transaction.atomic():
        plan = ScalingPlan.objects.select_for_update().select_related("workload").get(pk=plan_id)
        if to not in TRANSITIONS.get(plan.status, ()):
            raise PlanConflict(f"plan {plan_id} is {plan.status}; it cannot become {to}")
        if check is not None:
            check(plan)
        moved = ScalingPlan.objects.filter(pk=plan_id, status=plan.status).update(
            status=to, updated_at=now, **fields
        )
        if not moved:
            raise PlanConflict(f"plan {plan_id} changed while this request ran; reload it")
        previous = plan.status
        plan.refresh_from_db()
        audit.record(
            plan,
            f"plan.{to}",
            user=user,
            via=via,
            from_status=previous,
            to_status=to,
            reason=reason,
            comment=comment,
            detail=detail,
        )
        if to in WEBHOOK_EVENTS:
            webhooks.emit(
                WEBHOOK_EVENTS[to], team_id=plan.workload.team_id, payload=plan_event(plan)
            )
    return plan


def plan_event(plan: ScalingPlan) -> dict:
    """The webhook body for a plan event: enough to act on without another call."""
    return {
        "plan": plan.pk,
        "workload": plan.workload_id,
        "workload_name": plan.workload.name,
        "status": plan.status,
        "expected_cost_per_day_usd": plan.expected_cost_per_day_usd,
        "delta_cost_per_day_usd": plan.delta_cost_per_day_usd,
        "sla_risk": plan.sla_risk,
        "expires_at": plan.expires_at.isoformat(),
        "url": f"/api/v1/plans/{plan.pk}/",
    }


def fail_plan(plan_id: int, message: str) -> None:
    """A draft that could not be built ends FAILED with the reason."""
    transition(plan_id, S.FAILED, reason=message, message=message)


def supersede(plans, *, reason: str, message: str) -> None:
    """Move each of the open `plans` (a queryset) to SUPERSEDED, saying why."""
    for plan_id in plans.open().values_list("pk", flat=True):
        try:
            transition(plan_id, S.SUPERSEDED, reason=reason, message=message)
        except PlanConflict:
            pass  # it moved on meanwhile (approved and applying, say): leave it


def supersede_older(plan: ScalingPlan) -> None:
    """Older open plans of the same workload give way to `plan`."""
    supersede(
        ScalingPlan.objects.filter(workload=plan.workload, pk__lt=plan.pk),
        reason=f"plan {plan.pk} is newer",
        message=f"superseded by plan {plan.pk}",
    )


def expire_if_due(plan_id: int) -> bool:
    """Mark a proposed or approved plan EXPIRED once its time is up; True if it did."""
    try:
        transition(
            plan_id,
            S.EXPIRED,
            reason="time to live ran out",
            message="expired before it was applied",
            check=_is_due,
        )
    except PlanError:
        return False
    return True


def _is_due(plan: ScalingPlan) -> None:
    if plan.expires_at > timezone.now():
        raise PlanConflict("not due")


def expire_due_plans() -> int:
    """Expire every proposed or approved plan past its time to live (Celery beat)."""
    due = ScalingPlan.objects.filter(
        status__in=[S.PROPOSED, S.APPROVED], expires_at__lte=timezone.now()
    ).values_list("pk", flat=True)
    return sum(expire_if_due(pk) for pk in list(due))
