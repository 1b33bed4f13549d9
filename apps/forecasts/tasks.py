"""Celery entry points for forecasts."""

from celery import shared_task
from django.db import OperationalError

from apps.forecasts import services
from controlplane.celery import Queue


@shared_task(
    queue=Queue.CPU,
    acks_late=True,
    autoretry_for=(OperationalError,),
    max_retries=3,
    retry_backoff=True,
)
def run_forecast(run_id: int) -> None:
    """Fit and store one ForecastRun; `request_forecast` routes LSTM runs to the gpu queue."""
    services.execute_forecast_run(run_id)
