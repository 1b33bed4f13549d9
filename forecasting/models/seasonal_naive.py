"""Seasonal naive: repeat the last season; quantiles from the history's own seasonal changes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Self

import numpy as np

from forecasting.base import (
    DEFAULT_QUANTILES,
    Forecast,
    SeriesError,
    build_forecast,
    check_horizon,
    check_quantiles,
    check_series,
    is_whole_series,
)
from forecasting.seasonality import plan_seasons

LEAD_SAMPLES = 48  # lead times sampled when scoring candidate seasons
MIN_DIFFERENCES = 24  # fewest past changes an empirical quantile is taken from


class SeasonalNaive:
    """Forecast step j as the value one (or k) seasons before it, at the trace's own interval.

    With `season_length=None` the season is chosen at fit time among 1 (last value), the daily
    and the weekly season in trace intervals (those the plan allows), by which one's forecasts
    would have erred least over lead times up to one day (or a tenth of the series) in the
    recent history. Quantiles add the empirical quantiles of past changes over the same lag
    (k seasons), so a sparse count series keeps its skew.
    """

    name = "seasonal_naive"

    def __init__(self, season_length: int | None = None, interval_s: int = 3600) -> None:
        self.season_length = season_length
        self.interval_s = interval_s

    def fit(self, y: np.ndarray) -> Self:
        """Remember `y` (n,) and the season to repeat."""
        y = check_series(y)
        self.season_ = self.season_length or choose_naive_season(y, self.interval_s)
        if len(y) < 2 * self.season_:
            raise SeriesError(
                f"the series has {len(y)} points; seasonal naive with season {self.season_} "
                f"needs {2 * self.season_}"
            )
        self.y_ = y
        self.whole_ = is_whole_series(y)
        return self

    def predict(self, h: int, quantiles: Sequence[float] = DEFAULT_QUANTILES) -> Forecast:
        """Repeat the last season for `h` steps; quantiles from past k-season changes."""
        h, levels = check_horizon(h), check_quantiles(quantiles)
        m, y = self.season_, self.y_
        seasons_back = np.arange(h) // m + 1
        mean = y[len(y) - m + np.arange(h) % m]  # k seasons back is the last season again
        distinct, index = np.unique(seasons_back, return_inverse=True)
        table = np.vstack([quantiles_of_change(y, m * k, levels) for k in distinct])[index]
        paths = {q: mean + table[:, i] for i, q in enumerate(levels)}
        return build_forecast(mean, paths, whole=self.whole_)


def quantiles_of_change(y: np.ndarray, lag: int, levels: Sequence[float]) -> np.ndarray:
    """Empirical quantiles of `y[t] - y[t - lag]` (len(levels),).

    When the history holds too few changes that far apart, the widest lag it supports is used,
    widened by sqrt(lag / that lag) as for a random walk.
    """
    usable = len(y) - MIN_DIFFERENCES
    if lag <= usable:
        changes: np.ndarray = np.quantile(y[lag:] - y[:-lag], levels)
        return changes
    widest = max(1, usable)
    widened: np.ndarray = np.quantile(y[widest:] - y[:-widest], levels) * math.sqrt(lag / widest)
    return widened


def choose_naive_season(y: np.ndarray, interval_s: int) -> int:
    """Pick 1, daily or weekly (in trace intervals) by recent multi-step naive error."""
    plan = plan_seasons(interval_s, y)
    seasons = {1, plan.native_season, *(s * plan.factor for s in plan.seasons)}
    candidates = sorted(m for m in seasons if 2 * m <= len(y))
    reach = plan.native_season if plan.native_season > 1 else max(1, len(y) // 10)
    leads = np.unique(np.linspace(1, reach, min(reach, LEAD_SAMPLES)).astype(int))
    return min(candidates, key=lambda m: naive_error(y, m, leads, window=3 * reach))


def naive_error(y: np.ndarray, m: int, leads: np.ndarray, window: int) -> float:
    """Mean absolute error of season-`m` naive forecasts at `leads` over the last `window` steps."""
    errors = []
    for lead in leads:
        lag = m * math.ceil(lead / m)
        if lag < len(y):
            recent = y[len(y) - lag - min(window, len(y) - lag) :]
            errors.append(np.mean(np.abs(recent[lag:] - recent[:-lag])))
    return float(np.mean(errors)) if errors else math.inf
