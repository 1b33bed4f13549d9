"""Worker queues and the decorator every row task uses."""

from enum import StrEnum
from typing import Any

from celery import shared_task
from django.db.utils import OperationalError


class Queue(StrEnum):
    """Worker queues: "cpu" (ingest, forecasts, plans, applies), "gpu", "control".

    "gpu" takes LSTM training and GA-PSO; "control" the live controller's steps, which must
    not wait behind a long forecast. The forecasts that train the LSTM are lstm and auto
    (which backtests it among its candidates).
    """

    CPU = "cpu"
    GPU = "gpu"
    CONTROL = "control"


def row_task(queue: Queue = Queue.CPU, *, keep_result: bool = False) -> Any:
    """The decorator for a task that works on one row and is safe to run again.

    Acknowledged late, so a worker lost mid-task has it redelivered; retried up to 3 times
    with jittered backoff while the database is briefly unreachable. Results are rows, so a
    task's return value is dropped unless `keep_result` (a chord's header: the result backend
    holds it until the chord's body has it).
    """
    return shared_task(
        queue=queue,
        acks_late=True,
        autoretry_for=(OperationalError,),
        max_retries=3,
        retry_backoff=True,
        ignore_result=not keep_result,
    )
