"""Plans that no task will move any more: drafts and applies whose task was lost end FAILED.

A plan's tasks are acknowledged late, so a worker that dies mid-task has the task redelivered;
but a broker can still drop a message (a purged queue, a lost Redis), and a task stopped by its
hard time limit is not run again. Celery beat runs `sweep_stuck_plans` every 5 minutes
(`apps.plans.tasks.sweep_stuck_plans`); it fails, through `lifecycle.transition` (which audits
and fires the webhook), a plan

- in `draft` for longer than `DRAFT_STUCK_AFTER` since it was requested: longer than its chain
  can run, every link at its hard time limit (`apps.plans.tasks`), so no task of it is alive;
  a link still queued behind a backlog finds the plan failed and does nothing;
- in `applying` for longer than `APPLYING_STUCK_AFTER` since the apply started: longer than
  every attempt of the apply at its hard time limit plus the backoff between them. Its targets
  may be partly set; the failed plan offers the rollback, as a failed apply does.

The tests hold both bounds to the tasks' limits.
"""

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from apps.plans.lifecycle import PlanError, transition
from apps.plans.models import PlanStatus, ScalingPlan

log = logging.getLogger(__name__)

DRAFT_STUCK_AFTER = timedelta(minutes=30)
APPLYING_STUCK_AFTER = timedelta(minutes=20)
BATCH = 500  # plans failed per sweep, at most; the next sweep takes the rest


def stuck_reason(status: str, minutes: int) -> str:
    """The reason recorded on a plan the sweeper fails."""
    if status == PlanStatus.DRAFT:
        return (
            f"still a draft {minutes} min after it was requested: its build task was lost or "
            "stopped by its time limit; request a new plan"
        )
    return (
        f"still applying {minutes} min after the apply started: its task was lost or stopped "
        "by its time limit; the targets may be partly set, and a rollback is offered"
    )


def stuck_plans(now: datetime) -> list[tuple[int, str, datetime]]:
    """(id, status, since) of the plans the sweeper fails at `now`, oldest first."""
    drafts = ScalingPlan.objects.filter(
        status=PlanStatus.DRAFT, created_at__lt=now - DRAFT_STUCK_AFTER
    ).values_list("pk", "status", "created_at")
    # transition() stamps updated_at when the plan becomes APPLYING; nothing else moves it then.
    applying = ScalingPlan.objects.filter(
        status=PlanStatus.APPLYING, updated_at__lt=now - APPLYING_STUCK_AFTER
    ).values_list("pk", "status", "updated_at")
    return sorted([*drafts[:BATCH], *applying[:BATCH]], key=lambda row: row[2])[:BATCH]


def sweep_stuck_plans(*, now: datetime | None = None) -> int:
    """Fail every stuck plan (module docstring); how many were failed."""
    now = now or timezone.now()
    failed = 0
    for plan_id, status, since in stuck_plans(now):
        reason = stuck_reason(status, int((now - since).total_seconds() // 60))
        try:
            transition(plan_id, PlanStatus.FAILED, reason=reason, message=reason)
        except PlanError:  # it moved on between the query and the lock: no longer stuck
            continue
        log.warning("plan %s failed by the sweeper: %s", plan_id, reason)
        failed += 1
    return failed
