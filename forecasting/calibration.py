"""Interval calibration: widen quantiles or add noise to paths until past intervals cover 90 %."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from forecasting.base import Forecast, build_forecast
from forecasting.metrics import compute_coverage

WIDTH_FACTORS = np.round(np.arange(0.5, 3.0001, 0.05), 2)
NOISE_SCALES = np.round(np.arange(0, 3.0001, 0.05), 2)  # extra noise tried, in holdout RMSEs
TARGET_COVERAGE = 0.9


def calibrate_width(forecasts: Sequence[Forecast], actuals: Sequence[np.ndarray]) -> float:
    """The smallest factor on distances from the median whose past 90 % intervals cover enough.

    Split conformal, kept to one number: on the pooled n steps of the given forecasts (which
    need 0.05, 0.5 and 0.95 quantiles), the smallest factor in `WIDTH_FACTORS` (0.5 to 3) that
    covers at least ceil((n + 1) x 0.9) / n of them, the finite-sample level that makes the
    next step's coverage at least 90 % when the steps are exchangeable (they are only roughly
    so, hence the small margin over 90 %). The widest factor when none does.
    """
    actual = np.concatenate(actuals)

    def coverage(k: float) -> float:
        widened = [widen_forecast(f, k) for f in forecasts]
        lower = np.concatenate([f.quantiles[0.05] for f in widened])
        upper = np.concatenate([f.quantiles[0.95] for f in widened])
        return compute_coverage(actual, lower, upper)

    return smallest_covering(WIDTH_FACTORS, coverage, len(actual))


def calibrate_noise(paths: np.ndarray, actual: np.ndarray, noise: np.ndarray) -> float:
    """The least sd of normal noise that, added to `paths`, makes their 90 % interval cover enough.

    `paths` (paths, n) are sampled forecasts of the n steps of `actual`; `noise` holds standard
    normal draws of the same shape. Tried in steps of `NOISE_SCALES` times the paths' mean's
    RMSE on `actual`, until the 5-95 % interval covers the split-conformal share of the steps
    (as `calibrate_width`); the largest step when none does.
    """
    rmse = float(np.sqrt(np.mean((actual - paths.mean(axis=0)) ** 2)))

    def coverage(k: float) -> float:
        lower, upper = np.quantile(paths + k * rmse * noise, (0.05, 0.95), axis=0)
        return compute_coverage(actual, lower, upper)

    return smallest_covering(NOISE_SCALES, coverage, len(actual)) * rmse


def smallest_covering(scales: np.ndarray, coverage: Callable[[float], float], n: int) -> float:
    """The first of `scales` (ascending) whose `coverage` of n steps reaches `conformal_level`.

    The last scale when none does.
    """
    needed = conformal_level(n)
    return float(next((k for k in scales if coverage(float(k)) >= needed - 1e-12), scales[-1]))


def conformal_level(n: int) -> float:
    """The share of `n` past steps a 90 % interval must cover: ceil((n + 1) x 0.9) / n, or 1."""
    return min(1.0, math.ceil((n + 1) * TARGET_COVERAGE - 1e-9) / n)


def widen_forecast(forecast: Forecast, factor: float) -> Forecast:
    """Scale each quantile's distance from the median by `factor`; the mean is unchanged.

    A whole-number forecast stays one (its widened quantiles are rounded again).
    """
    if factor == 1:
        return forecast
    median = forecast.quantiles[0.5]
    widened = {q: median + factor * (v - median) for q, v in forecast.quantiles.items()}
    return build_forecast(forecast.mean, widened, whole=forecast.whole)
