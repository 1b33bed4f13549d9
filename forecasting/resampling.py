"""Fit a model on bucket means at the modelling step and map its forecast back to the trace's step.

A level model forecasts the mean load per interval of each bucket (say an hour of per-minute
counts), with quantiles for how uncertain that level is. Each trace interval's forecast is then

    y = m + sqrt(a + b * m) * e,   m = (level interpolated between bucket centres) * profile

where `profile` is the average shape within a bucket (e.g. a burst at the top of each hour),
`a + b * m` the variance of trace values around their bucket's level (constant for a CPU
level, proportional to the level for Poisson-like counts) and `e` the empirical distribution of
standardised residuals. Level quantiles and noise quantiles are combined on a fixed grid (50 x 40
equally weighted points, comonotone level paths), so the result is deterministic and the
quantiles of a sparse, bursty per-minute series keep their heavy upper tail.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, Self

import numpy as np

from forecasting.base import (
    DEFAULT_QUANTILES,
    Forecast,
    build_forecast,
    check_horizon,
    check_quantiles,
    check_series,
    is_whole_series,
)
from forecasting.seasonality import SeasonPlan, aggregate_series, plan_seasons

LEVEL_GRID = tuple((i + 0.5) / 50 for i in range(50))
NOISE_GRID = tuple((j + 0.5) / 40 for j in range(40))
CHUNK_STEPS = 256  # trace steps combined at once: bounds memory at ~4 MB per chunk


class LevelModel(Protocol):
    """A model of bucket means `z` at the modelling step, told the plan's seasons."""

    def fit(self, z: np.ndarray, plan: SeasonPlan) -> Self:
        """Learn from bucket means `z`, shape (n,)."""
        ...

    def predict(self, h: int, quantiles: Sequence[float]) -> Forecast:
        """Forecast the next `h` bucket means."""
        ...


@dataclass(frozen=True)
class BucketNoise:
    """How trace values scatter around their bucket's level: `y = m + sqrt(a + b*m) * e`.

    Attributes:
        profile: multiplier per position in a bucket, shape (factor,), mean 1.
        variance_intercept: `a`, in (unit per interval) squared.
        variance_slope: `b`, in unit per interval.
        shocks: quantiles of the standardised residual `e` at `NOISE_GRID`, shape (40,).
    """

    profile: np.ndarray
    variance_intercept: float
    variance_slope: float
    shocks: np.ndarray


class ConstantLevel:
    """The level model for buckets that never change: it repeats the value, with no spread."""

    def fit(self, z: np.ndarray, plan: SeasonPlan) -> Self:
        """Remember the constant value of `z`."""
        self.value_ = float(z[-1])
        return self

    def predict(self, h: int, quantiles: Sequence[float]) -> Forecast:
        """The constant for each of `h` buckets, at every quantile."""
        flat = np.full(h, self.value_)
        return build_forecast(flat, {q: flat for q in quantiles})


class AggregatedForecaster:
    """A `Forecaster` that runs a level model at the modelling step chosen by `plan_seasons`."""

    def __init__(self, name: str, make_model: Callable[[], LevelModel], interval_s: int) -> None:
        self.name = name
        self.make_model = make_model
        self.interval_s = interval_s

    def fit(self, y: np.ndarray) -> Self:
        """Plan the step and seasons, aggregate the recent history of `y` (n,) and fit on it."""
        y = check_series(y)
        self.plan_ = plan_seasons(self.interval_s, y)
        recent = y[len(y) - self.plan_.history :]
        z = aggregate_series(recent, self.plan_.factor)
        self.noise_ = estimate_bucket_noise(recent, self.plan_.factor)
        self.last_level_ = float(z[-1])
        self.whole_ = is_whole_series(y)
        model = ConstantLevel() if np.ptp(z) == 0 else self.make_model()
        self.model_ = model.fit(z, self.plan_)
        return self

    def predict(self, h: int, quantiles: Sequence[float] = DEFAULT_QUANTILES) -> Forecast:
        """Forecast `h` trace intervals: bucket levels, spread within buckets by `noise_`."""
        h, levels = check_horizon(h), check_quantiles(quantiles)
        factor = self.plan_.factor
        if factor == 1:
            forecast = self.model_.predict(h, levels)
        else:
            level = self.model_.predict(math.ceil(h / factor), LEVEL_GRID)
            forecast = spread_level_forecast(level, self.noise_, self.last_level_, h, levels)
        return build_forecast(forecast.mean, forecast.quantiles, whole=self.whole_)


def estimate_bucket_noise(y: np.ndarray, factor: int) -> BucketNoise:
    """Fit the within-bucket profile, variance function and residual shape of `y` (n,)."""
    # scipy (70 MB, 0.6 s) loads here, not with the module, which the web process imports.
    from scipy.optimize import nnls

    if factor == 1:
        return BucketNoise(np.ones(1), 0.0, 0.0, np.zeros(len(NOISE_GRID)))
    z = aggregate_series(y, factor)
    y = y[len(y) - len(z) * factor :]
    smooth = interpolate_levels(z[None, :], factor)[0]
    profile = estimate_profile(y.reshape(-1, factor), smooth.reshape(-1, factor))
    level = smooth * np.tile(profile, len(z))
    residual = y - level
    design = np.column_stack([np.ones_like(level), np.clip(level, 0, None)])
    (intercept, slope), _ = nnls(design, residual**2)
    scale = np.sqrt(intercept + slope * np.clip(level, 0, None))
    usable = scale > 0
    if not usable.any():
        return BucketNoise(profile, 0.0, 0.0, np.zeros(len(NOISE_GRID)))
    shocks = np.quantile(residual[usable] / scale[usable], NOISE_GRID)
    return BucketNoise(profile, float(intercept), float(slope), shocks)


def estimate_profile(values: np.ndarray, smooth: np.ndarray) -> np.ndarray:
    """Average shape within a bucket, shrunk towards flat by how noisy it is; (factor,).

    `values` and `smooth` are (buckets, factor). The shrinkage compares the profiles of the
    even and odd buckets: what they disagree on is noise (an empirical-Bayes weight).
    """
    raw = _share(values, smooth)
    if len(values) < 4:
        return np.ones(values.shape[1])
    even, odd = _share(values[::2], smooth[::2]), _share(values[1::2], smooth[1::2])
    noise_var = float(np.mean((even - odd) ** 2)) / 4
    total_var = float(np.mean((raw - 1) ** 2))
    weight = max(0.0, 1 - noise_var / total_var) if total_var > 0 else 0.0
    return 1 + weight * (raw - 1)


def _share(values: np.ndarray, smooth: np.ndarray) -> np.ndarray:
    totals = smooth.sum(axis=0)
    if totals.sum() <= 0:
        return np.ones(values.shape[1])
    share = np.where(totals > 0, values.sum(axis=0) / np.where(totals > 0, totals, 1), 1.0)
    mean = share.mean()
    return share / mean if mean > 0 else np.ones(values.shape[1])


def interpolate_levels(
    levels: np.ndarray, factor: int, anchor: np.ndarray | None = None
) -> np.ndarray:
    """Spread bucket means (paths, buckets) over trace steps (paths, buckets * factor).

    Values are linear between bucket centres and flat beyond the last; `anchor` (paths,), the
    mean of the bucket just before the first, pins the start so the forecast joins the history.
    """
    if anchor is not None:
        levels = np.column_stack([anchor, levels])
    centres = np.arange(levels.shape[1]) * factor + (factor - 1) / 2
    offset = factor if anchor is not None else 0
    steps = np.arange((levels.shape[1] * factor) - offset) + offset
    left = np.clip(np.searchsorted(centres, steps, side="right") - 1, 0, len(centres) - 1)
    right = np.minimum(left + 1, len(centres) - 1)
    span = np.where(right > left, centres[right] - centres[left], 1.0)
    weight = np.clip((steps - centres[left]) / span, 0, 1)
    spread: np.ndarray = levels[:, left] * (1 - weight) + levels[:, right] * weight
    return spread


def spread_level_forecast(
    level: Forecast, noise: BucketNoise, last_level: float, h: int, quantiles: Sequence[float]
) -> Forecast:
    """Turn a forecast of bucket means into one for each of the next `h` trace steps."""
    factor = len(noise.profile)
    profile = np.tile(noise.profile, level.horizon)[:h]
    mean = interpolate_levels(level.mean[None, :], factor, np.array([last_level]))[0, :h] * profile
    paths = np.vstack([level.quantiles[q] for q in LEVEL_GRID])
    anchor = np.full(len(paths), last_level)
    native = interpolate_levels(paths, factor, anchor)[:, :h] * profile
    table = np.empty((len(quantiles), h))
    for start in range(0, h, CHUNK_STEPS):
        block = np.clip(native[:, start : start + CHUNK_STEPS], 0, None)
        scale = np.sqrt(noise.variance_intercept + noise.variance_slope * block)
        draws = block[:, None, :] + scale[:, None, :] * noise.shocks[None, :, None]
        draws = np.clip(draws.reshape(-1, block.shape[1]), 0, None)
        table[:, start : start + CHUNK_STEPS] = np.quantile(draws, quantiles, axis=0)
    return build_forecast(mean, {q: table[i] for i, q in enumerate(quantiles)})
