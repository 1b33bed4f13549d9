"""The controller's audit events: each hour's summary of its steps, and one per event."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Max, Min

from apps.control.models import ControlDecision, Controller
from apps.plans.audit import actor_name
from apps.plans.models import AuditEvent


def coalesce_audit(controller: Controller, newest: ControlDecision) -> None:
    """Once per hour: one event summing up the hour before the newest step (if it had steps)."""
    hour = newest.step_at.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    workload = controller.workload
    if AuditEvent.objects.filter(
        workload_id=workload.pk, action="control.hour", detail__hour=hour.isoformat()
    ).exists():
        return
    previous = ControlDecision.objects.filter(
        workload=workload, step_at__gte=hour, step_at__lt=hour + timedelta(hours=1)
    )
    summary = previous.aggregate(low=Min("replicas"), high=Max("replicas"))
    steps = previous.count()
    if not steps:
        return
    applied = previous.filter(applied=True).count()
    audit(
        controller,
        "control.hour",
        f"{steps} steps from {hour:%Y-%m-%d %H:%M} UTC, {applied} applied; "
        f"replicas {summary['low']}-{summary['high']}",
        {"hour": hour.isoformat(), "steps": steps, "applied": applied},
    )


def audit(
    controller: Controller, action: str, reason: str, detail: dict | None = None, *, by=None
) -> None:
    """Write one audit event about the controller's workload; its detail names the policy."""
    workload = controller.workload
    AuditEvent.objects.create(
        actor=actor_name(by),
        via="system",
        action=action,
        team_id=workload.team_id,
        workload_id=workload.pk,
        workload_name=workload.name,
        reason=reason,
        detail={"policy": controller.policy, **(detail or {})},
    )
