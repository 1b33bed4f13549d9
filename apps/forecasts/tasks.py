"""Celery entry points for forecasts."""

from apps.forecasts import services
from apps.kernel.tasks import row_task


@row_task()
def run_forecast(run_id: int) -> None:
    """Fit and store one ForecastRun; `request_forecast` picks its queue (`queue_for`)."""
    services.execute_forecast_run(run_id)
