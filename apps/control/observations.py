"""Deleting a range of a workload's observations, recorded in the audit trail.

Here rather than in `apps.workloads`, which owns the rows, because the audit trail is the plans
app's (`apps.plans.models.AuditEvent`) and workloads may not import it (docs/architecture.md
section 1). Who may: the team's SREs, or its CI identities through a token given the
`metrics:delete` scope (`apps.accounts.roles.authorize`). The event has no plan (`plan_id`
null) and says which series, range and how many points went: raw points, and those of the
hours retention rolled up (`MetricRollup`) that lie wholly inside the range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Sum

from apps.accounts import roles
from apps.plans.audit import actor_name
from apps.plans.models import AuditEvent
from apps.workloads.models import MetricObservation, MetricRollup, Workload


class DeletionRefused(Exception):
    """The caller may not delete this workload's observations; the message says why."""


@dataclass(frozen=True)
class Deleted:
    """What a deletion removed, and the audit event that records it."""

    deleted: int
    audit_event_id: int


def delete_observations(
    *,
    workload: Workload,
    series: str,
    start: datetime,
    end: datetime,
    user,
    credential: object = None,
    via: str = "api",
    comment: str = "",
) -> Deleted:
    """Delete the points of `series` with start <= ts < end and audit it, in one transaction.

    Raises:
        DeletionRefused: the caller is neither an SRE of the workload's team nor its CI with
            the `metrics:delete` scope.
    """
    refusal = roles.authorize(user, credential, workload.team, roles.DELETE_OBSERVATIONS)
    if refusal:
        raise DeletionRefused(refusal)
    with transaction.atomic():
        rows = MetricObservation.objects.filter(
            workload=workload, series=series, ts__gte=start, ts__lt=end
        )
        deleted, _ = rows.delete()
        # Hours retention rolled up (apps.workloads.retention) go too when the range holds them.
        hours = MetricRollup.objects.filter(
            workload=workload, series=series, hour__gte=start, hour__lte=end - timedelta(hours=1)
        )
        rolled_up = hours.aggregate(points=Sum("count"))["points"] or 0
        rolled_up_hours, _ = hours.delete()
        deleted += rolled_up
        event = AuditEvent.objects.create(
            actor=actor_name(user),
            via=via,
            action="observations.deleted",
            team_id=workload.team_id,
            workload_id=workload.pk,
            workload_name=workload.name,
            reason=f"{deleted} points of {series!r} from {start.isoformat()} to "
            f"{end.isoformat()} deleted",
            comment=comment,
            detail={
                "series": series,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "deleted": deleted,
                "rolled_up_hours": rolled_up_hours,
            },
        )
    return Deleted(deleted=deleted, audit_event_id=event.pk)
