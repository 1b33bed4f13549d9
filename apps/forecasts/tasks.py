"""Celery entry points for forecasts."""

from apps.forecasts import services
from apps.forecasts.models import ForecastRun
from apps.kernel.runs import fail_unfinished
from apps.kernel.tasks import row_task


def _fail_run(run_id: int, *, reason: str) -> None:
    fail_unfinished(ForecastRun, run_id, reason)


# Training the LSTM (lstm, auto) on a worker without a GPU takes minutes: up to 25 min, under
# apps.kernel.runs.STALE_AFTER (30 min) so that no live run is ever taken over.
@row_task(soft_time_limit=1500, time_limit=1560, on_time_limit=_fail_run)
def run_forecast(run_id: int) -> None:
    """Fit and store one ForecastRun; `request_forecast` picks its queue (`queue_for`)."""
    services.execute_forecast_run(run_id)
