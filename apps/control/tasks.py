"""Celery entry points of the live controller: a beat tick and one step per workload."""

import logging
from datetime import datetime

from celery import group
from django.conf import settings

from apps.control import demo, services
from apps.control.models import Controller
from apps.kernel.tasks import Queue, row_task

log = logging.getLogger(__name__)


# A step every BALLAST_CONTROL_STEP_S (60 s): a tick or step that ran longer would make the
# next one wait, so their limits stay under a minute.
@row_task(Queue.CONTROL, soft_time_limit=45, time_limit=55)
def control_tick(now: str | None = None) -> int:
    """Every minute (beat): one step task per enabled controller, fanned out as a group.

    Each step expires before the next tick (`step_expires_s`), when that tick's steps are due.

    `now` (ISO-8601) replaces the wall clock, for replays and benchmarks.
    """
    ids = list(Controller.objects.filter(enabled=True).values_list("workload_id", flat=True))
    if ids:
        steps = group(control_step.s(workload_id, now) for workload_id in ids)
        steps.apply_async(expires=step_expires_s())
    return len(ids)


def step_expires_s() -> float:
    """A tick's steps expire before the next tick: a backlog holds no step a later one repeats."""
    return settings.CONTROL_STEP_S * 0.9


@row_task(Queue.CONTROL, soft_time_limit=45, time_limit=55)
def control_step(workload_id: int, now: str | None = None) -> str:
    """The steps due for one workload; a late or duplicate delivery decides nothing twice."""
    at = datetime.fromisoformat(now) if now else None
    try:
        report = services.run_step(workload_id, now=at)
    except services.StepConflict as exc:
        log.info("%s", exc)
        return str(exc)
    return report.held or f"{report.decided} step(s), applied: {report.applied}"


@row_task(Queue.CONTROL, soft_time_limit=45, time_limit=55)
def feed_demo_metrics() -> int:
    """Every minute in `make demo` only: the sample traces replayed as live metrics."""
    return demo.feed_demo_metrics()


@row_task(Queue.CONTROL)
def prune_control_history() -> str:
    """Daily (beat): decisions and controller steps older than BALLAST_CONTROL_KEEP_DAYS."""
    decisions, steps = services.prune_history(keep_days=settings.CONTROL_KEEP_DAYS)
    return f"{decisions} decisions and {steps} steps pruned"
