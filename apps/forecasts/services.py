"""Every write to forecasts: requesting a run and computing it."""

import logging
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import transaction

from apps.forecasts.models import ForecastRun
from apps.kernel.runs import claim_run, finish_run
from apps.kernel.tasks import Queue
from apps.workloads.history import series_points
from forecasting.base import SeriesError
from forecasting.forecast import forecast_series
from forecasting.history import regularize, whole_seconds

log = logging.getLogger(__name__)

# The most history a run reads: 60 days of minute data.
MAX_HISTORY_POINTS = 86_400
DEFAULT_QUANTILES = [0.5, 0.9, 0.99]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# Runs that train the LSTM: auto backtests it among its candidates on every run.
GPU_MODELS = frozenset({ForecastRun.Model.LSTM, ForecastRun.Model.AUTO})


def queue_for(model: str) -> Queue:
    """Runs that train the LSTM (lstm, and auto) go to the GPU queue; the others to the CPU one."""
    return Queue.GPU if model in GPU_MODELS else Queue.CPU


def request_forecast(
    *, workload, series: str, model: str, horizon: int, quantiles: list[float], seed: int, by
) -> ForecastRun:
    """Create a queued run and send it to its queue once the row is committed."""
    return request_forecasts(
        [workload],
        series=series,
        model=model,
        horizon=horizon,
        quantiles=quantiles,
        seed=seed,
        by=by,
    )[0]


def request_forecasts(
    workloads, *, series: str, model: str, horizon: int, quantiles: list[float], seed: int, by
) -> list[ForecastRun]:
    """One run per workload in one transaction, sent as one Celery group (the fan-out path)."""
    from celery import group

    from apps.forecasts import tasks  # tasks imports this module

    with transaction.atomic():
        runs = [
            ForecastRun.objects.create(
                workload=workload,
                series=series,
                model=model,
                horizon=horizon,
                quantiles=sorted(set(quantiles or DEFAULT_QUANTILES)),
                seed=seed,
                requested_by=by,
            )
            for workload in workloads
        ]
        queue = queue_for(model).value
        ids = [run.pk for run in runs]
        transaction.on_commit(
            lambda: group(tasks.run_forecast.si(pk).set(queue=queue) for pk in ids).apply_async()
        )
    return runs


def execute_forecast_run(run_id: int) -> None:
    """Fit and store one run; data problems end it FAILED with a message, never a crash."""
    if not claim_run(ForecastRun, run_id):
        return
    run = ForecastRun.objects.get(pk=run_id)
    try:
        history = load_history(run)
        result = forecast_series(
            history.values,
            interval_s=history.interval_s,
            horizon=run.horizon,
            model=run.model,
            quantiles=run.quantiles,
            seed=run.seed,
        )
    except ValueError as exc:  # SeriesError and bad parameters: the message says what is wrong
        _fail(run, str(exc))
        return
    except Exception as exc:  # a model bug must not leave the run RUNNING forever
        log.exception("forecast run %s failed", run_id)
        _fail(run, f"internal error ({type(exc).__name__}): {exc}")
        return
    _store(run, history, result)


def load_history(run: ForecastRun):
    """The run's series as a regular grid (short gaps filled), most recent points only.

    Raw points and, past retention's raw window, the rolled-up hours (`apps.workloads.history`).

    Stray points (a few cut off from the rest by a gap no forecast fills, e.g. posted at a test
    timestamp) are left out, and the run's message counts them.
    """
    pairs = series_points(run.workload_id, run.series, newest=MAX_HISTORY_POINTS)
    if not pairs:
        raise SeriesError(
            f"workload has no observations in series {run.series!r}: push metrics or import a "
            "trace first"
        )
    epoch_us = [(ts - EPOCH) // timedelta(microseconds=1) for ts, _ in pairs]  # exact
    epoch_s, moved = whole_seconds(np.array(epoch_us, dtype=np.int64) * 1000)
    values = np.array([value for _, value in pairs], dtype=float)
    return regularize(epoch_s, values, moved, drop_strays=True)


def _store(run: ForecastRun, history, result) -> None:
    forecast = result.forecast
    note = f"; {history.filled} missing points filled by interpolation" if history.filled else ""
    if history.dropped:
        note += f"; {history.dropped} stray points far from the rest left out"
    if history.regridded:
        note += (
            f"; {history.regridded} points off the {history.interval_s} s grid moved to it "
            "(averaged where they met)"
        )
    finish_run(
        ForecastRun,
        run.pk,
        ForecastRun.Status.SUCCEEDED,
        model_used=result.model,
        selection_reason=result.reason,
        history_points=len(history.values),
        interval_s=history.interval_s,
        start=datetime.fromtimestamp(history.end_s + history.interval_s, tz=UTC),
        mean=[round(float(v), 6) for v in forecast.mean],
        quantile_values={
            str(q): [round(float(v), 6) for v in values] for q, values in forecast.quantiles.items()
        },
        scores=result.scores or None,
        message=f"forecast {run.horizon} intervals from {len(history.values)} points{note}",
    )


def _fail(run: ForecastRun, message: str) -> None:
    finish_run(ForecastRun, run.pk, ForecastRun.Status.FAILED, message=message)
