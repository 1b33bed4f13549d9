"""Celery entry points for the dashboard: policy replays behind the savings and what-if pages."""

from celery import shared_task
from django.db import OperationalError

from apps.dashboard import services
from controlplane.celery import Queue


@shared_task(queue=Queue.CPU, acks_late=True, autoretry_for=(OperationalError,), max_retries=3)
def replay_savings(replay_id: int) -> None:
    """Fill one SavingsReplay. Redelivery is harmless: only a QUEUED row is claimed."""
    services.execute_savings_replay(replay_id)


@shared_task(queue=Queue.CPU, acks_late=True, autoretry_for=(OperationalError,), max_retries=3)
def run_what_if(run_id: int) -> None:
    """Fill one WhatIfRun, reporting progress as each policy finishes."""
    services.execute_what_if(run_id)
