"""Celery entry points for simulations: the policy replays behind the savings and what-if pages.

A replay stopped by its time limit fails its row with the reason (`fail_unfinished`).
"""

from apps.kernel.runs import fail_unfinished
from apps.kernel.tasks import row_task
from apps.simulations import services
from apps.simulations.models import SavingsReplay, WhatIfRun


def _fail_replay(replay_id: int, *, reason: str) -> None:
    fail_unfinished(SavingsReplay, replay_id, reason)


def _fail_what_if(run_id: int, *, reason: str) -> None:
    fail_unfinished(WhatIfRun, run_id, reason)


@row_task(soft_time_limit=1500, time_limit=1560, on_time_limit=_fail_replay)
def replay_savings(replay_id: int) -> None:
    """Fill one SavingsReplay. Redelivery is harmless: only a QUEUED row is claimed."""
    services.execute_savings_replay(replay_id)


@row_task(soft_time_limit=1500, time_limit=1560, on_time_limit=_fail_what_if)
def run_what_if(run_id: int) -> None:
    """Fill one WhatIfRun, reporting progress as each policy finishes."""
    services.execute_what_if(run_id)
