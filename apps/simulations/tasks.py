"""Celery entry points for simulations: the policy replays behind the savings and what-if pages."""

from apps.kernel.tasks import row_task
from apps.simulations import services


@row_task()
def replay_savings(replay_id: int) -> None:
    """Fill one SavingsReplay. Redelivery is harmless: only a QUEUED row is claimed."""
    services.execute_savings_replay(replay_id)


@row_task()
def run_what_if(run_id: int) -> None:
    """Fill one WhatIfRun, reporting progress as each policy finishes."""
    services.execute_what_if(run_id)
