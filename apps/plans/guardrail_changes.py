"""Guardrail changes by two people: one that loosens a rule waits for a second, distinct person.

A change (create, update or remove, through the API) is compared rule by rule with what is in
effect (`optimization.guardrails.loosened_rules`; a workload's guardrail over its team's):

- one that loosens nothing (auto-approve off, a lower budget or limit, fewer purchase options,
  higher minimums, change windows that open no minute that was closed) applies at once, by its
  author alone;
- one that loosens any rule becomes a pending `GuardrailChange` (`guardrail.proposed`), applied
  only when someone else approves it: an SRE of the owning team other than the proposer, or
  FinOps; at least one of the two must be an SRE of that team (two FinOps members are not
  enough; FinOps plus an SRE is). The proposer may withdraw it; its team's SREs and FinOps may
  reject it.

Approval applies the change in one transaction, under a lock on the owning team that every
guardrail write takes, so racing approvals have one winner and the audit trail one
`guardrail.changed` (or `.created`, `.removed`) with before, after, `proposed_by`, `approved_by`.
A change whose guardrail changed since it was proposed is refused as stale; one past its time to
live (the plans', BALLAST_PLAN_TTL_MINUTES) as expired.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts import roles
from apps.accounts.models import Role, Team, TokenScope
from apps.plans import audit, planner
from apps.plans.lifecycle import PlanConflict, PlanForbidden, plan_ttl
from apps.plans.models import Guardrail, GuardrailChange
from optimization.guardrails import Guardrails, loosened_rules

EDITABLE = Guardrail.RULES
Status = GuardrailChange.Status


def snapshot(row: Guardrail | None) -> dict[str, Any] | None:
    """A guardrail as the audit trail and a change keep it; None for none."""
    if row is None:
        return None
    scope = {"id": row.pk, "team": row.team.slug if row.team_id else None}
    return scope | {"workload": row.workload_id} | {f: getattr(row, f) for f in EDITABLE}


def values_of(row: Guardrail) -> dict[str, Any]:
    """The editable fields of a guardrail, saved or not."""
    return {f: getattr(row, f) for f in EDITABLE}


def rules_in_effect(team: Team, workload, values: dict[str, Any] | None) -> Guardrails:
    """The rules a guardrail holding `values` (None: no guardrail) puts in effect for its scope."""
    own = planner.to_guardrails(Guardrail(**(values or {})))
    if workload is None:
        return own
    row = Guardrail.objects.filter(team=team).first()
    inherited = planner.to_guardrails(row) if row else Guardrails()
    return own.merged_over(inherited) if values is not None else inherited


def setter_refusal(user, owner: Team) -> str | None:
    """Who may set or propose: the owning team's SREs and FinOps."""
    if roles.holds_role(user, owner, Role.SRE) or roles.is_finops(user):
        return None
    return f"guardrails of {owner} are set by its SREs or FinOps"


def change_guardrail(
    *, team: Team | None, workload, values: dict[str, Any] | None, by, via: str, reason: str = ""
) -> tuple[Guardrail | None, GuardrailChange | None]:
    """Set (`values`) or remove (None) the guardrail of `team` or `workload`.

    Returns (the guardrail now, None) when applied at once, or (the guardrail unchanged, the
    pending change) when the change loosens a rule and waits for a second person.
    """
    owner = team or workload.team
    refusal = setter_refusal(by, owner)
    if refusal:
        raise PlanForbidden(refusal)
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=owner.pk)  # every guardrail write, one at a time
        row = Guardrail.objects.filter(team=team, workload=workload).first()
        before = rules_in_effect(owner, workload, values_of(row) if row else None)
        looser = loosened_rules(before, rules_in_effect(owner, workload, values))
        if not looser:
            return _apply(row, team, workload, values, by=by, via=via, detail={"loosens": []}), None
        change = GuardrailChange.objects.create(
            team=team,
            workload=workload,
            values=values,
            before=snapshot(row),
            loosened=looser,
            base_updated_at=row.updated_at if row else None,
            proposed_by=by,
            expires_at=timezone.now() + plan_ttl(),
            reason=reason,
        )
        _record(change, "guardrail.proposed", by, via, change.before, values)
    return row, change


def approve_change(change_id: int, *, user, credential=None, via: str, comment: str = ""):
    """Apply a pending change approved by a second person; stale or expired ones are refused."""
    with transaction.atomic():
        change = _locked(change_id)
        refusal = approval_refusal(change, user, credential)
        if refusal:
            raise PlanForbidden(refusal)
        row = Guardrail.objects.filter(team=change.team, workload=change.workload).first()
        problem = _staleness(change, row)
        if problem is None:
            detail = {
                "change_id": change.pk,
                "proposed_by": change.proposed_by.get_username(),
                "approved_by": user.get_username(),
                "loosens": change.loosened,
            }
            team, workload = change.team, change.workload
            _apply(row, team, workload, change.values, by=user, via=via, detail=detail)
            _decide(change, Status.APPLIED, user, comment)
            return change
        status, action = problem
        _decide(change, status, user, comment)
        _record(change, action, user, via, change.before, change.values)
    raise PlanConflict(f"guardrail change {change_id} is {status}: {_STALE_WHY[status]}")


def reject_change(change_id: int, *, user, credential=None, via: str, comment: str = ""):
    """Withdraw (the proposer) or reject (the owning team's SREs, FinOps) a pending change."""
    with transaction.atomic():
        change = _locked(change_id)
        if user.pk != change.proposed_by_id:
            refusal = roles.token_refusal(credential, TokenScope.GUARDRAILS_APPROVE)
            refusal = refusal or setter_refusal(user, change.owner)
            if refusal:
                raise PlanForbidden(refusal)
        _decide(change, Status.REJECTED, user, comment)
        _record(change, "guardrail.change_rejected", user, via, change.before, change.values)
    return change


def approval_refusal(change: GuardrailChange, user, credential) -> str | None:
    """Why `user` may not approve `change`; None when they may (see the module docstring)."""
    refusal = roles.token_refusal(credential, TokenScope.GUARDRAILS_APPROVE)
    if refusal:
        return refusal
    if user.pk == change.proposed_by_id:
        return "four eyes: whoever proposed a guardrail change cannot approve it"
    owner = change.owner
    refusal = setter_refusal(user, owner)
    if refusal:
        return refusal.replace("set by", "approved by")
    if not (
        roles.holds_role(user, owner, Role.SRE)
        or roles.holds_role(change.proposed_by, owner, Role.SRE)
    ):
        return f"four eyes: an SRE of {owner} must propose or approve (FinOps plus FinOps is not)"
    return None


def expire_due_changes(*, now=None) -> int:
    """Expire pending changes past their time to live (Celery beat, with the plans'); how many."""
    now = now or timezone.now()
    expired = 0
    for change_id in GuardrailChange.objects.filter(
        status=Status.PENDING, expires_at__lte=now
    ).values_list("pk", flat=True)[:500]:
        with transaction.atomic():
            change = _locked(change_id, quiet=True)
            if change is not None:
                _decide(change, Status.EXPIRED, None, "")
                _record(change, "guardrail.change_expired", None, "system", change.before, None)
                expired += 1
    return expired


_STALE_WHY = {
    Status.STALE: "the guardrail changed since it was proposed; propose it again",
    Status.EXPIRED: "it was not approved within its time to live; propose it again",
}


def _locked(change_id: int, *, quiet: bool = False) -> Any:
    owner_id = (
        GuardrailChange.objects.filter(pk=change_id)
        .values_list("team_id", "workload__team_id")
        .first()
    )
    if owner_id is None:
        raise GuardrailChange.DoesNotExist(change_id)
    Team.objects.select_for_update().get(pk=owner_id[0] or owner_id[1])
    change = (
        GuardrailChange.objects.select_for_update(of=("self",))
        .select_related("team", "workload__team", "proposed_by")
        .get(pk=change_id)
    )
    if change.status != Status.PENDING:
        if quiet:
            return None
        raise PlanConflict(f"guardrail change {change_id} is {change.status}, no longer pending")
    return change


def _staleness(change: GuardrailChange, row: Guardrail | None) -> tuple[str, str] | None:
    if change.expires_at <= timezone.now():
        return Status.EXPIRED, "guardrail.change_expired"
    if change.before is None:
        same = row is None
    else:
        same = row is not None and row.pk == change.before["id"]
        same = same and row.updated_at == change.base_updated_at
    return None if same else (Status.STALE, "guardrail.change_stale")


def _apply(row, team, workload, values, *, by, via: str, detail: dict) -> Guardrail | None:
    before = snapshot(row)
    if values is None:
        row.delete()
        row, action = None, "guardrail.removed"
    elif row is None:
        row = Guardrail.objects.create(team=team, workload=workload, **values)
        action = "guardrail.created"
    else:
        for name, value in values.items():
            setattr(row, name, value)
        row.save()
        action = "guardrail.changed"
    audit.record_guardrail_scope(
        team,
        workload,
        action,
        user=by,
        via=via,
        detail={"before": before} | detail | {"after": snapshot(row)},
    )
    return row


def _decide(change: GuardrailChange, status: str, user, comment: str) -> None:
    change.status, change.decided_by, change.comment = status, user, comment
    change.decided_at = timezone.now()
    change.save(update_fields=["status", "decided_by", "decided_at", "comment"])


def _record(change: GuardrailChange, action: str, user, via: str, before, after) -> None:
    detail = {
        "change_id": change.pk,
        "proposed_by": change.proposed_by.get_username(),
        "loosens": change.loosened,
        "before": before,
        "after": after,
    }
    audit.record_guardrail_scope(
        change.team, change.workload, action, user=user, via=via, detail=detail
    )
