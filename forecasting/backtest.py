"""Rolling-origin backtests: refit at each origin, forecast the next `horizon` steps, score them."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from forecasting.base import (
    MIN_POINTS,
    Forecast,
    Forecaster,
    SeriesError,
    check_horizon,
    check_quantiles,
    check_series,
)
from forecasting.metrics import (
    compute_coverage,
    compute_mase,
    compute_mase_scale,
    compute_pinball,
    compute_smape,
)
from forecasting.models import ENSEMBLE
from forecasting.models.ensemble import ENSEMBLE_MEMBERS, combine_forecasts
from forecasting.seasonality import plan_seasons

# 0.05 and 0.95 bound the 90 % interval; 0.5, 0.9 and 0.99 are what plans are built from.
BACKTEST_QUANTILES = (0.05, 0.5, 0.9, 0.95, 0.99)


@dataclass(frozen=True)
class FoldScore:
    """One model's scores on one fold; NaN scores and an `error` if it refused the fold.

    Attributes:
        origin: index of the first forecast step; the model saw `y[:origin]`.
        mase: mean absolute error of the mean over the in-sample seasonal naive error.
        smape: symmetric MAPE in percent (0-200).
        coverage_90: fraction of actual values between the 0.05 and 0.95 quantiles.
        pinball: pinball loss averaged over the quantile levels, in the series' unit.
        pinball_scaled: `pinball` over the same scale as MASE (comparable across series).
        fit_seconds: wall time of `fit`.
        predict_seconds: wall time of `predict`.
        error: why the model refused this fold, else None.
    """

    origin: int
    mase: float
    smape: float
    coverage_90: float
    pinball: float
    pinball_scaled: float
    fit_seconds: float
    predict_seconds: float
    error: str | None = None


@dataclass(frozen=True)
class Backtest:
    """Scores and forecasts of several models over the same folds.

    Attributes:
        horizon: steps forecast at each origin.
        origins: first forecast step of each fold, oldest first.
        scales: the MASE scale of each fold (in-sample seasonal naive error before it).
        scores: model name -> one `FoldScore` per origin.
        forecasts: model name -> one `Forecast` per origin (None where the model refused).
    """

    horizon: int
    origins: tuple[int, ...]
    scales: tuple[float, ...]
    scores: dict[str, list[FoldScore]]
    forecasts: dict[str, list[Forecast | None]]

    def last(self, count: int) -> Backtest:
        """The last `count` folds (equal to backtesting only those: each fold is refitted)."""
        return dataclasses.replace(
            self,
            origins=self.origins[-count:],
            scales=self.scales[-count:],
            scores={name: s[-count:] for name, s in self.scores.items()},
            forecasts={name: f[-count:] for name, f in self.forecasts.items()},
        )


def max_folds(n: int, horizon: int) -> int:
    """The most back-to-back folds of `horizon` steps that `plan_origins` fits in n points."""
    return (n - max(MIN_POINTS, horizon)) // horizon


def plan_origins(n: int, horizon: int, folds: int) -> tuple[int, ...]:
    """Origins of `folds` back-to-back test windows of `horizon` steps that end at `n`.

    Raises:
        SeriesError: when the history before the first window would be shorter than
            `max(MIN_POINTS, horizon)`, saying how many points are needed.
    """
    if folds < 1:
        raise ValueError(f"folds must be >= 1, got {folds}")
    if folds > max_folds(n, horizon):
        needed = max(MIN_POINTS, horizon) + folds * horizon
        raise SeriesError(
            f"the series has {n} points; {folds} backtest folds of {horizon} steps need at "
            f"least {needed} (max({MIN_POINTS}, horizon) of history + folds x horizon)"
        )
    return tuple(n - (folds - i) * horizon for i in range(folds))


def run_backtest(
    y: np.ndarray,
    forecasters: Sequence[Forecaster],
    *,
    interval_s: int,
    horizon: int,
    folds: int,
    quantiles: Sequence[float] = BACKTEST_QUANTILES,
    progress: Callable[[float], None] | None = None,
) -> Backtest:
    """Score each forecaster on `folds` rolling origins over the end of `y` (n,).

    MASE and the scaled pinball loss are scaled by the in-sample seasonal naive error of the
    history before each origin, with the plan's native season (daily where there is one).
    A model that raises `SeriesError` on a fold gets NaN scores and the message for it.
    `progress`, when given, is told the fraction of the fits done (0 to 1) after each one.
    """
    y = check_series(y)
    horizon = check_horizon(horizon)
    levels = check_quantiles([*quantiles, 0.05, 0.95])
    origins = plan_origins(len(y), horizon, folds)
    scores: dict[str, list[FoldScore]] = {f.name: [] for f in forecasters}
    forecasts: dict[str, list[Forecast | None]] = {f.name: [] for f in forecasters}
    scales = []
    fits, done = len(origins) * len(forecasters), 0
    for origin in origins:
        history, actual = y[:origin], y[origin : origin + horizon]
        scale = fold_scale(history, interval_s)
        scales.append(scale)
        for forecaster in forecasters:
            score, forecast = score_fold(forecaster, history, actual, scale, levels)
            scores[forecaster.name].append(score)
            forecasts[forecaster.name].append(forecast)
            done += 1
            if progress is not None:
                progress(done / fits)
    return Backtest(horizon, origins, tuple(scales), scores, forecasts)


def add_ensemble(backtest: Backtest, y: np.ndarray) -> Backtest:
    """`backtest` plus the ensemble, scored from its members' forecasts without refitting.

    The ensemble's forecast is by definition the average of its members' (which are
    deterministic), so this equals backtesting `Ensemble` itself at a third of the cost. Its
    fit and predict times are the members' summed. Returned unchanged if a member is missing.
    """
    if ENSEMBLE in backtest.scores or not set(ENSEMBLE_MEMBERS) <= set(backtest.scores):
        return backtest
    scores: list[FoldScore] = []
    forecasts: list[Forecast | None] = []
    for i, origin in enumerate(backtest.origins):
        members = [backtest.forecasts[m][i] for m in ENSEMBLE_MEMBERS]
        member_scores = [backtest.scores[m][i] for m in ENSEMBLE_MEMBERS]
        refused = [s.error for s in member_scores if s.error]
        if refused:
            nan = math.nan
            scores.append(FoldScore(origin, nan, nan, nan, nan, nan, nan, nan, refused[0]))
            forecasts.append(None)
            continue
        forecast = combine_forecasts([f for f in members if f is not None])
        actual = y[origin : origin + backtest.horizon]
        fit_s = sum(s.fit_seconds for s in member_scores)
        predict_s = sum(s.predict_seconds for s in member_scores)
        scores.append(
            score_forecast(forecast, actual, backtest.scales[i], origin, fit_s, predict_s)
        )
        forecasts.append(forecast)
    return dataclasses.replace(
        backtest,
        scores={**backtest.scores, ENSEMBLE: scores},
        forecasts={**backtest.forecasts, ENSEMBLE: forecasts},
    )


def fold_scale(history: np.ndarray, interval_s: int) -> float:
    """The MASE scale of one fold; NaN when its history is constant (every model refuses it)."""
    if np.ptp(history) == 0:
        return math.nan
    return compute_mase_scale(history, plan_seasons(interval_s, history).native_season)


def score_fold(
    forecaster: Forecaster,
    history: np.ndarray,
    actual: np.ndarray,
    scale: float,
    levels: Sequence[float],
) -> tuple[FoldScore, Forecast | None]:
    """Fit on `history`, forecast `len(actual)` steps and score them."""
    started = time.perf_counter()
    try:
        forecaster.fit(history)
    except SeriesError as exc:
        nan = math.nan
        return FoldScore(len(history), nan, nan, nan, nan, nan, nan, nan, str(exc)), None
    fitted = time.perf_counter()
    forecast = forecaster.predict(len(actual), levels)
    predicted = time.perf_counter()
    return score_forecast(
        forecast, actual, scale, len(history), fitted - started, predicted - fitted
    ), forecast


def score_forecast(
    forecast: Forecast,
    actual: np.ndarray,
    scale: float,
    origin: int,
    fit_seconds: float = 0.0,
    predict_seconds: float = 0.0,
) -> FoldScore:
    """Score one forecast (with 0.05 and 0.95 quantiles) against `actual` (h,)."""
    pinball = compute_pinball(actual, forecast)
    return FoldScore(
        origin=origin,
        mase=compute_mase(actual, forecast.mean, scale),
        smape=compute_smape(actual, forecast.mean),
        coverage_90=compute_coverage(actual, forecast.quantiles[0.05], forecast.quantiles[0.95]),
        pinball=pinball,
        pinball_scaled=pinball / scale,
        fit_seconds=fit_seconds,
        predict_seconds=predict_seconds,
    )


def summarize_scores(scores: Sequence[FoldScore]) -> dict[str, float | None]:
    """Median over folds of each score, except coverage: the pooled fraction (mean over folds).

    Folds a model refused are left out; a model that refused every fold gets None throughout.
    """
    done = [s for s in scores if s.error is None]
    keys = ("mase", "smape", "pinball", "pinball_scaled", "fit_seconds", "predict_seconds")
    if not done:
        return {key: None for key in (*keys, "coverage_90")}
    summary: dict[str, float | None] = {
        key: float(np.median([getattr(s, key) for s in done])) for key in keys
    }
    summary["coverage_90"] = float(np.mean([s.coverage_90 for s in done]))
    return summary
