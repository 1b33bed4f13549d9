"""The applied plan as the controller reads it: its variant, its bounds, a call for a new one."""

from __future__ import annotations

from datetime import datetime

from apps.control.audit import audit
from apps.control.models import Controller
from apps.plans.models import AuditEvent, PlanSchedule, PlanStatus, ScalingPlan
from apps.plans.services import request_plan
from apps.workloads.models import Workload
from policies.envelope import Bounds, by_hour_of_day


def applied_plan(workload: Workload) -> ScalingPlan | None:
    """The plan in force: the newest applied one."""
    return (
        ScalingPlan.objects.filter(workload=workload, status=PlanStatus.APPLIED)
        .order_by("-applied_at", "-pk")
        .first()
    )


def hour_of_day_bounds(plan: ScalingPlan | None) -> dict[int, Bounds]:
    """The applied plan's bounds by hour of the day (UTC), for replaying past days inside it.

    Only hourly plans map onto the clock this way; others give nothing.
    """
    if plan is None or plan.chosen is None or plan.start_at is None or plan.interval_s != 3600:
        return {}
    return by_hour_of_day(plan.envelope_hours(), plan.start_at.hour)


def approved_variant(plan: ScalingPlan | None) -> str | None:
    """The model variant the applied plan runs (its envelope's, else most of its replicas')."""
    chosen = plan.chosen if plan is not None else None
    return chosen.envelope.variant if chosen is not None else None


def bounds_at(plan: ScalingPlan | None, at: datetime) -> Bounds | None:
    """What two people approved for the hour of `at`, or None outside the plan's horizon.

    The plan's chosen candidate's envelope (`ScalingPlan.envelope_hours`).
    """
    if plan is None or plan.chosen is None or plan.start_at is None:
        return None
    hours = plan.envelope_hours()
    index = int((at - plan.start_at).total_seconds() // plan.interval_s)
    return hours[index] if 0 <= index < len(hours) else None


def needs_plan(controller: Controller, at: datetime) -> None:
    """The policy wants more than the envelope allows: say so (once an hour) and ask for a plan.

    A plan is requested on behalf of the workload's plan schedule (its requester) when it has
    one and no plan is open; otherwise the audit event is the call for one.
    """
    workload = controller.workload
    hour = at.replace(minute=0, second=0, microsecond=0)
    if AuditEvent.objects.filter(
        workload_id=workload.pk, action="control.needs_plan", at__gte=hour
    ).exists():
        return
    schedule = PlanSchedule.objects.filter(workload=workload).select_related("requested_by").first()
    requested = ""
    if schedule is not None and not ScalingPlan.objects.open().filter(workload=workload).exists():
        plan = request_plan(
            workload=workload, by=schedule.requested_by, via="system", origin="schedule"
        )
        requested = f"; plan {plan.pk} requested"
    audit(
        controller,
        "control.needs_plan",
        f"the policy wants more replicas than the applied plan allows this hour{requested}",
    )
