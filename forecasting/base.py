"""The forecaster interface: `Forecast`, the `Forecaster` protocol and the checks models run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Protocol, Self

import numpy as np

DEFAULT_QUANTILES = (0.5, 0.9, 0.99)
MIN_POINTS = 48  # the fewest intervals of history any forecaster accepts
# Seeds reach numpy's legacy seed (0 to 2**32 - 1), torch and a PostgreSQL integer column:
# the smallest of those ranges.
MAX_SEED = 2**31 - 1


class SeriesError(ValueError):
    """A series that cannot be forecast; the message says what is wrong and what is needed."""


@dataclass(frozen=True)
class Forecast:
    """A point forecast and quantiles for the next `h` intervals, in the series' own unit.

    Attributes:
        mean: expected load per interval, shape (h,), finite and >= 0.
        quantiles: level q in (0, 1) -> load per interval, shape (h,); finite, >= 0 and
            non-decreasing in q at every step.
        whole: the series counts whole things (requests per interval), so its quantiles are
            whole numbers too: `build_forecast` rounds them (the mean stays fractional).
    """

    mean: np.ndarray
    quantiles: dict[float, np.ndarray]
    whole: bool = False

    def __post_init__(self) -> None:
        h = len(self.mean)
        if self.mean.shape != (h,) or not (np.isfinite(self.mean).all() and (self.mean >= 0).all()):
            raise ValueError("mean must be a finite, non-negative 1-D array")
        previous = np.zeros(h)
        for q in sorted(self.quantiles):
            values = self.quantiles[q]
            if not 0 < q < 1 or values.shape != (h,) or not np.isfinite(values).all():
                raise ValueError(f"quantile {q} must be in (0, 1) with {h} finite values")
            if (values < previous).any():
                raise ValueError(f"quantile {q} is negative or below a lower quantile")
            previous = values

    @property
    def horizon(self) -> int:
        """Number of intervals forecast."""
        return len(self.mean)


class Forecaster(Protocol):
    """A model that learns from one regular series and forecasts its next intervals."""

    name: str

    def fit(self, y: np.ndarray) -> Self:
        """Learn from `y`, load per interval, shape (n,); raises SeriesError if it cannot."""
        ...

    def predict(self, h: int, quantiles: Sequence[float] = DEFAULT_QUANTILES) -> Forecast:
        """Forecast the `h` intervals that follow the fitted series."""
        ...


def check_series(y: np.ndarray | Sequence[float], min_length: int = MIN_POINTS) -> np.ndarray:
    """Return `y` as a float64 array (n,) after checking that it can be forecast.

    A constant series is refused: it has nothing to learn and the models' likelihoods are
    degenerate on it; the caller should plan for the constant value directly.

    Raises:
        SeriesError: for a series that is not 1-D, is shorter than `min_length`, holds NaN,
            infinite or negative values, or is constant.
    """
    values = np.asarray(y, dtype=float)
    if values.ndim != 1:
        raise SeriesError(f"the series must be 1-D, got shape {values.shape}")
    if len(values) < min_length:
        raise SeriesError(f"the series has {len(values)} points; at least {min_length} are needed")
    bad = ~np.isfinite(values)
    if bad.any():
        index = int(np.argmax(bad))
        raise SeriesError(
            f"value at index {index} is {values[index]}; fill gaps before forecasting"
        )
    if (values < 0).any():
        index = int(np.argmax(values < 0))
        raise SeriesError(f"value at index {index} is {values[index]:g}; load must be >= 0")
    if np.ptp(values) == 0:
        raise SeriesError(
            f"the series is constant (every value is {values[0]:g}): there is nothing to "
            "forecast; plan for that value directly"
        )
    return values


def check_horizon(h: int) -> int:
    """Return `h` if it is a whole number of intervals >= 1, else raise ValueError."""
    if isinstance(h, bool) or not isinstance(h, int | np.integer) or h < 1:
        raise ValueError(f"horizon must be an integer >= 1, got {h!r}")
    return int(h)


def check_quantiles(quantiles: Sequence[float]) -> tuple[float, ...]:
    """Return the distinct quantile levels in ascending order; each must lie in (0, 1)."""
    levels = tuple(sorted({float(q) for q in quantiles}))
    if not levels or not all(0 < q < 1 for q in levels):
        raise ValueError(f"quantiles must be levels in (0, 1), got {list(quantiles)}")
    return levels


def is_whole_series(y: np.ndarray) -> bool:
    """Whether every value of `y` is a whole number, as counts of requests are."""
    return bool(np.all(y == np.round(y)))


def build_forecast(
    mean: np.ndarray, quantiles: Mapping[float, np.ndarray], whole: bool = False
) -> Forecast:
    """Make a valid `Forecast` from raw model output.

    Values are clipped to >= 0 (load cannot be negative) and sorted across levels at each
    step, so quantiles never cross even when a model's raw quantiles do. With `whole`, the
    quantiles are rounded to whole numbers: a quantile of a count is a whole number, and
    rounding (monotone) maps the quantiles of a model's continuous load onto those of the
    count. It matters for sparse counts: a 5 % quantile of 0.3 requests would call every idle
    minute a miss.
    """
    levels = sorted(quantiles)
    table = np.clip(np.vstack([np.asarray(quantiles[q], dtype=float) for q in levels]), 0, None)
    table = np.sort(table, axis=0)
    if whole:
        table = np.round(table)
    clean_mean = np.clip(np.asarray(mean, dtype=float), 0, None)
    return Forecast(clean_mean, {q: table[i] for i, q in enumerate(levels)}, whole)


def build_gaussian_forecast(
    mean: np.ndarray, sd: np.ndarray, quantiles: Sequence[float]
) -> Forecast:
    """A forecast whose quantiles are `mean + z_q * sd` (normal errors), clipped at 0."""
    sd = np.clip(np.asarray(sd, dtype=float), 0, None)
    return build_forecast(
        mean, {q: mean + NormalDist().inv_cdf(q) * sd for q in check_quantiles(quantiles)}
    )
