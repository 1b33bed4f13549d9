"""The one call the app makes: `forecast_series`, plain numbers in, a `ForecastResult` out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from forecasting.backtest import summarize_scores
from forecasting.base import (
    DEFAULT_QUANTILES,
    MAX_SEED,
    Forecast,
    Forecaster,
    check_horizon,
    check_quantiles,
    check_series,
)
from forecasting.models import ENSEMBLE, MODEL_NAMES, make_forecaster
from forecasting.seasonality import SeasonPlan
from forecasting.selection import AutoForecaster


@dataclass(frozen=True)
class ForecastResult:
    """A forecast and how it was made.

    Attributes:
        forecast: mean and quantiles per trace interval, shape (horizon,) each.
        model: the model that produced it; for `auto`, the two it averaged (weighted by their
            backtest scores), joined by '+' (e.g. 'ets+seasonal_naive'), or its fallback.
        interval_s: the series' step in seconds.
        step_s: the modelling step the model fitted at (a multiple of `interval_s`).
        season_lengths: seasons modelled, in trace intervals (e.g. (1440, 10080) for per-minute
            data with weeks of history); empty when none.
        scores: candidate -> median backtest scores (`mase`, `smape`, `coverage_90`, `pinball`,
            `pinball_scaled`, `fit_seconds`, `predict_seconds`) when `auto` ran backtests,
            else None.
        reason: why this model: the selection's sentence, or that it was requested.
    """

    forecast: Forecast
    model: str
    interval_s: int
    step_s: int
    season_lengths: tuple[int, ...]
    scores: dict[str, dict[str, float | None]] | None
    reason: str


def forecast_series(
    values: np.ndarray | Sequence[float],
    interval_s: int,
    horizon: int,
    model: str = "auto",
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    seed: int = 0,
) -> ForecastResult:
    """Forecast the next `horizon` intervals of a regular load series.

    Args:
        values: load per interval, oldest first, shape (n,); at least 48 finite values >= 0,
            not all equal. The series must be regular: filling gaps (or refusing them) is the
            caller's job, as is ordering by time.
        interval_s: seconds between consecutive values.
        horizon: intervals to forecast.
        model: "auto" (backtest the models on the end of the series, average the two that
            did best, weighted by their scores, fitted on all of it; the ensemble on a history
            too short for that), "ensemble" or one of `MODEL_NAMES`.
        quantiles: levels in (0, 1) to return.
        seed: makes the LSTM and sampled quantiles repeat exactly; 0 to `base.MAX_SEED`.

    Raises:
        SeriesError: the series cannot be forecast (too short: the message says how many
            points are needed; NaN; negative; constant).
        ValueError: an unknown model, a horizon < 1, quantiles outside (0, 1) or a seed
            outside 0 to `base.MAX_SEED`.
    """
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be 0 to {MAX_SEED}, got {seed}")
    y = check_series(values)
    horizon, levels = check_horizon(horizon), check_quantiles(quantiles)
    forecaster: Forecaster
    if model == "auto":
        auto = AutoForecaster(interval_s=interval_s, horizon=horizon, seed=seed).fit(y)
        forecaster, fitted, reason = auto, auto.model_, auto.selection_.reason
        scores = None
        if auto.backtest_ is not None:
            scores = {name: summarize_scores(s) for name, s in auto.backtest_.scores.items()}
    elif model in (*MODEL_NAMES, ENSEMBLE):
        fitted = make_forecaster(model, interval_s=interval_s, seed=seed).fit(y)
        forecaster, reason, scores = fitted, f"{model} as requested", None
    else:
        known = ", ".join(("auto", *MODEL_NAMES, ENSEMBLE))
        raise ValueError(f"unknown model {model!r}; known: {known}")
    plan = _fitted_plan(fitted, interval_s, y)
    return ForecastResult(
        forecast=forecaster.predict(horizon, levels),  # auto's predict applies its width factor
        model=fitted.name,
        interval_s=interval_s,
        step_s=plan.step_s,
        season_lengths=_native_seasons(fitted, plan),
        scores=scores,
        reason=reason,
    )


def _fitted_plan(fitted: Forecaster, interval_s: int, y: np.ndarray) -> SeasonPlan:
    plan: SeasonPlan | None = getattr(fitted, "plan_", None)
    if plan is not None:
        return plan
    return SeasonPlan(interval_s, 1, (), len(y), 1)


def _native_seasons(fitted: Forecaster, plan: SeasonPlan) -> tuple[int, ...]:
    season = getattr(fitted, "season_", None)  # seasonal naive repeats one season
    if season is not None:
        return (season,) if season > 1 else ()
    return tuple(s * plan.factor for s in plan.seasons)
