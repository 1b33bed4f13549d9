"""The audit trail: one append-only row per plan transition, apply step or target change."""

from __future__ import annotations

from apps.plans.models import AuditEvent, ScalingPlan


def actor_name(user) -> str:
    """The username, or 'system' for the scheduler, the workers and auto-approval."""
    return user.get_username() if user is not None and user.is_authenticated else "system"


def record_workload(
    workload,
    action: str,
    *,
    user=None,
    via: str = "system",
    reason: str = "",
    detail: dict | None = None,
) -> AuditEvent:
    """Append one event about `workload` itself (no plan); call inside its transaction."""
    return _append(workload, None, action, user, via, reason=reason, detail=detail or {})


def change_action(before: dict | None, after: dict | None) -> str:
    """`created`, `changed` or `removed`, by which of the row's before and after is missing."""
    return "created" if before is None else "removed" if after is None else "changed"


def record_change(
    workload, subject: str, name: str, *, before: dict | None, after: dict | None, user, via: str
) -> AuditEvent:
    """Append `<subject>.created`, `.changed` or `.removed` about a row of `workload`."""
    action = change_action(before, after)
    label = "deployment target" if subject == "target" else subject.replace("_", " ")
    return record_workload(
        workload,
        f"{subject}.{action}",
        user=user,
        via=via,
        reason=f"{label} {name} {action}",
        detail={"before": before, "after": after},
    )


def record(
    plan: ScalingPlan,
    action: str,
    *,
    user=None,
    via: str = "system",
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
    comment: str = "",
    detail: dict | None = None,
) -> AuditEvent:
    """Append one event about `plan`; call inside the transaction that made the change."""
    return _append(
        plan.workload,
        plan.pk,
        action,
        user,
        via,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        comment=comment,
        detail=detail or {},
    )


def record_guardrail(
    guardrail, action: str, *, user, via: str, before: dict | None, after: dict | None
) -> AuditEvent:
    """Append a change to a team's or a workload's guardrail, with what it was and is."""
    detail = {"before": before, "after": after}
    return record_guardrail_scope(
        guardrail.team, guardrail.workload, action, user=user, via=via, detail=detail
    )


def record_guardrail_scope(team, workload, action: str, *, user, via: str, detail: dict):
    """Append an event about the guardrail of `team` or `workload` (one is None), row or not."""
    owner = workload or team
    if workload is not None:
        return _append(workload, None, action, user, via, reason=str(owner), detail=detail)
    return AuditEvent.objects.create(
        actor=actor_name(user),
        via=via,
        action=action,
        team_id=team.pk,
        reason=str(owner),
        detail=detail,
    )


def _append(workload, plan_id: int | None, action: str, user, via: str, **fields) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor_name(user),
        via=via,
        action=action,
        team_id=workload.team_id,
        workload_id=workload.pk,
        workload_name=workload.name,
        plan_id=plan_id,
        **fields,
    )
