"""Interval calibration: widen or narrow quantiles so past intervals would have covered 90 %."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from forecasting.base import Forecast, build_forecast
from forecasting.metrics import compute_coverage

WIDTH_FACTORS = np.round(np.arange(0.5, 3.0001, 0.05), 2)
TARGET_COVERAGE = 0.9


def calibrate_width(forecasts: Sequence[Forecast], actuals: Sequence[np.ndarray]) -> float:
    """The factor on distances from the median that makes past 90 % intervals cover 90 %.

    Searched over `WIDTH_FACTORS` (0.5 to 3) on the pooled steps of the given forecasts (which
    need 0.05, 0.5 and 0.95 quantiles); among equally good factors the one closest to 1 wins,
    so a well-calibrated model is left alone. A split-conformal idea, kept to one number.
    """
    actual = np.concatenate(actuals)

    def miss(k: float) -> float:
        widened = [widen_forecast(f, k) for f in forecasts]
        lower = np.concatenate([f.quantiles[0.05] for f in widened])
        upper = np.concatenate([f.quantiles[0.95] for f in widened])
        return abs(compute_coverage(actual, lower, upper) - TARGET_COVERAGE)

    misses = {float(k): miss(float(k)) for k in WIDTH_FACTORS}
    return min(misses, key=lambda k: (round(misses[k], 9), abs(k - 1)))


def widen_forecast(forecast: Forecast, factor: float) -> Forecast:
    """Scale each quantile's distance from the median by `factor`; the mean is unchanged."""
    if factor == 1:
        return forecast
    median = forecast.quantiles[0.5]
    return build_forecast(
        forecast.mean, {q: median + factor * (v - median) for q, v in forecast.quantiles.items()}
    )
