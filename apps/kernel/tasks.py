"""Worker queues, the decorator every row task uses, and what a task killed by its time limit does.

Every task has a soft and a hard time limit (the defaults are the settings'
CELERY_TASK_SOFT_TIME_LIMIT and CELERY_TASK_TIME_LIMIT; a task that legitimately runs longer
names its own). The soft limit raises `SoftTimeLimitExceeded` inside the task, so the service
code may still record why it stopped; the hard limit kills the process running it, and the
worker then calls the task's `on_failure` with `TimeLimitExceeded`. Either way a task whose limit
stopped it calls its `on_time_limit(*args, reason=..., **kwargs)`, which leaves the task's row in
a failed state with that reason (a run FAILED, a plan failed), never RUNNING for ever.
"""

import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from django.db.utils import OperationalError

log = logging.getLogger(__name__)


class Queue(StrEnum):
    """Worker queues: "cpu" (ingest, forecasts, plans), "gpu", "control", "actuation", "webhooks".

    "gpu" takes LSTM training and GA-PSO; "control" the live controller's steps, which must
    not wait behind a long forecast. The forecasts that train the LSTM are lstm and auto
    (which backtests it among its candidates). "actuation" takes plans' applies, rollbacks and
    batch schedules, which change live capacity and must not wait behind plan building;
    "webhooks" the deliveries to outside receivers, whose speed Ballast does not control.
    """

    CPU = "cpu"
    GPU = "gpu"
    CONTROL = "control"
    ACTUATION = "actuation"
    WEBHOOKS = "webhooks"


LIMIT_ERRORS = (SoftTimeLimitExceeded, TimeLimitExceeded)


class LimitedTask(Task):  # type: ignore[misc]  # celery ships no types
    """A task that calls its `on_time_limit` hook when its soft or hard time limit stops it."""

    on_time_limit: Callable[..., None] | None = None

    def on_failure(
        self,
        exc: BaseException,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        einfo: Any,
    ) -> None:
        """Celery calls this in the worker, for the hard limit too (the task's process is gone)."""
        if isinstance(exc, LIMIT_ERRORS) and self.on_time_limit is not None:
            reason = time_limit_reason(self, exc)
            log.warning("%s[%s] %s", self.name, task_id, reason)
            try:
                self.on_time_limit(*args, reason=reason, **kwargs)
            except Exception:  # the worker's own process must go on; the sweepers catch up
                log.exception("%s[%s]: its row could not be failed", self.name, task_id)
        super().on_failure(exc, task_id, args, kwargs, einfo)


def time_limit_reason(task: Task, exc: BaseException) -> str:
    """The sentence a row stopped by a time limit records."""
    soft = isinstance(exc, SoftTimeLimitExceeded)
    seconds = task.soft_time_limit if soft else task.time_limit
    if seconds is None:  # the app's defaults
        seconds = task.app.conf.task_soft_time_limit if soft else task.app.conf.task_time_limit
    kind = "soft" if soft else "hard"
    return f"stopped by the worker: ran past its {kind} time limit of {seconds} s"


def limited_task(
    queue: Queue,
    *,
    soft_time_limit: int | None = None,
    time_limit: int | None = None,
    on_time_limit: Callable[..., None] | None = None,
    **options: Any,
) -> Any:
    """`shared_task` on `queue` with time limits (None: the settings' defaults) and the hook."""
    if on_time_limit is not None:
        options["on_time_limit"] = staticmethod(on_time_limit)  # called as given, not bound
    return shared_task(
        base=LimitedTask,
        queue=queue,
        soft_time_limit=soft_time_limit,
        time_limit=time_limit,
        **options,
    )


def row_task(
    queue: Queue = Queue.CPU,
    *,
    keep_result: bool = False,
    soft_time_limit: int | None = None,
    time_limit: int | None = None,
    on_time_limit: Callable[..., None] | None = None,
) -> Any:
    """The decorator for a task that works on one row and is safe to run again.

    Acknowledged late, so a worker lost mid-task has it redelivered; retried up to 3 times
    with jittered backoff while the database is briefly unreachable. Results are rows, so a
    task's return value is dropped unless `keep_result` (a chord's header: the result backend
    holds it until the chord's body has it). `soft_time_limit` and `time_limit` (seconds) replace
    the settings' defaults for a task that legitimately runs longer or must stay shorter;
    `on_time_limit` records on the row that a limit stopped the task (module docstring).
    """
    return limited_task(
        queue,
        soft_time_limit=soft_time_limit,
        time_limit=time_limit,
        on_time_limit=on_time_limit,
        acks_late=True,
        autoretry_for=(OperationalError,),
        max_retries=3,
        retry_backoff=True,
        ignore_result=not keep_result,
    )
