"""Plans requested on a schedule (Celery beat, every minute)."""

import logging
from datetime import timedelta

from django.utils import timezone

from apps.accounts import roles
from apps.plans.building import request_plans
from apps.plans.models import PlanSchedule, ScalingPlan

log = logging.getLogger(__name__)


def request_scheduled_plans() -> int:
    """Request a plan for every enabled schedule that is due (Celery beat, every minute).

    Due schedules are claimed one by one (a conditional update, so two beat ticks never both
    take one), then planned in one group per requester.
    """
    now = timezone.now()
    claimed: dict[int, list] = {}
    for schedule in PlanSchedule.objects.filter(enabled=True).select_related(
        "workload__team", "requested_by"
    ):
        last = schedule.last_requested_at
        if last is not None and now - last < timedelta(minutes=schedule.every_minutes):
            continue
        if PlanSchedule.objects.filter(pk=schedule.pk, last_requested_at=last).update(
            last_requested_at=now
        ):
            claimed.setdefault(schedule.requested_by_id, []).append(schedule)
    count = 0
    for schedules in claimed.values():
        allowed = []
        for schedule in schedules:
            if roles.can_write_team(schedule.requested_by, schedule.workload.team):
                allowed.append(schedule.workload)
            else:
                log.warning("plan schedule %s skipped: its owner lost the write role", schedule.pk)
        if allowed:
            request_plans(
                allowed,
                by=schedules[0].requested_by,
                via="schedule",
                origin=ScalingPlan.Origin.SCHEDULE,
            )
            count += len(allowed)
    return count
