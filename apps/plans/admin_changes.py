"""Rows changed in the admin, on the audit trail (`apps.kernel.admin.admin_changed`).

Each is one `admin.<model>.created`, `.changed` or `.removed` event by the admin user, with the
row before and after, under the row's team (the team itself, or its workload's), or under team
0, which only FinOps and superusers read, for rows of no team (the pricing catalog).
"""

from typing import Any

from apps.accounts.models import Team
from apps.plans.audit import actor_name
from apps.plans.models import AuditEvent
from apps.workloads.models import Workload

NO_TEAM = 0


def workload_of(row: Any) -> Workload | None:
    """The workload a row is or belongs to (through its variant for a capacity profile)."""
    if isinstance(row, Workload):
        return row
    if getattr(row, "variant", None) is not None:
        return row.variant.workload
    return getattr(row, "workload", None)


def team_of(row: Any, workload: Workload | None, before: dict | None) -> int:
    """The id of the team a row belongs to; NO_TEAM for none."""
    if isinstance(row, Team):
        return row.pk or (before or {}).get("id") or NO_TEAM
    if workload is not None:
        return workload.team_id
    return getattr(row, "team_id", None) or NO_TEAM


def record_admin_change(sender, *, user, instance, action, before, after, **_: Any) -> None:
    """`admin_changed`: append the event, in the admin's transaction."""
    workload = workload_of(instance)
    workload_id = workload.pk if workload is not None else None
    if isinstance(instance, Workload) and workload_id is None:
        workload_id = (before or {}).get("id")  # removed: the row lost its key
    AuditEvent.objects.create(
        actor=actor_name(user),
        via="admin",
        action=f"admin.{sender._meta.model_name}.{action}",
        team_id=team_of(instance, workload, before),
        workload_id=workload_id,
        workload_name=workload.name if workload is not None else "",
        reason=str(instance)[:200],
        detail={"model": sender._meta.label_lower, "before": before, "after": after},
    )
