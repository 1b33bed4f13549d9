"""Background runs (forecasts, optimizations): their shared fields and how a worker claims one.

A Celery task may be delivered twice (acks_late and a worker that dies, or a broker redelivery).
A run is claimed with a conditional UPDATE from QUEUED, so only one delivery computes it; a run
left RUNNING by a dead worker is taken over once it has been silent for `STALE_AFTER`, which is
longer than any task's hard time limit (apps.kernel.tasks), so a live run is never taken over.
A run whose task a time limit stopped is FAILED with the reason (`fail_unfinished`).
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

STALE_AFTER = timedelta(minutes=30)
# What every run reports and no client writes; serializers add their own result fields.
RUN_STATE_FIELDS = ("status", "message", "created_at", "started_at", "finished_at")


class Run(models.Model):
    """Fields every background run has."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    status = models.CharField(max_length=16, choices=Status, default=Status.QUEUED)
    message = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


def claim_run(model: type[Run], run_id: int) -> bool:
    """QUEUED (or stale RUNNING) -> RUNNING; False when another delivery got there first."""
    now = timezone.now()
    claimable = Q(status=Run.Status.QUEUED) | Q(
        status=Run.Status.RUNNING, started_at__lt=now - STALE_AFTER
    )
    return bool(
        model._default_manager.filter(claimable, pk=run_id).update(
            status=Run.Status.RUNNING, started_at=now
        )
    )


def finish_run(model: type[Run], run_id: int, status: str, **fields: Any) -> None:
    """Record the outcome of a claimed run."""
    model._default_manager.filter(pk=run_id).update(
        status=status, finished_at=timezone.now(), **fields
    )


def fail_unfinished(model: type[Run], run_id: int, reason: str) -> bool:
    """A QUEUED or RUNNING run -> FAILED with `reason`; False when it had already finished.

    The `on_time_limit` hook of a run's task (apps.kernel.tasks): a finished run keeps its result.
    """
    return bool(
        model._default_manager.filter(
            pk=run_id, status__in=[Run.Status.QUEUED, Run.Status.RUNNING]
        ).update(status=Run.Status.FAILED, finished_at=timezone.now(), message=reason)
    )
