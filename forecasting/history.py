"""Turn stored observations (timestamps with possible gaps) into a regular series to forecast."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forecasting.base import SeriesError

# Short gaps are common in scraped metrics; filling up to 5% of the points, none of them longer
# than 1% of the history (and at least 3 intervals), keeps forecasts honest. Longer holes refuse.
MAX_MISSING_SHARE = 0.05
MAX_GAP_SHARE = 0.01


@dataclass(frozen=True)
class RegularSeries:
    """A series on a regular grid: `values` (n,), the grid's first instant and its step."""

    values: np.ndarray
    start_s: int
    interval_s: int
    filled: int

    @property
    def end_s(self) -> int:
        """Epoch second of the last point."""
        return self.start_s + (len(self.values) - 1) * self.interval_s


def regularize(epoch_s: np.ndarray, values: np.ndarray) -> RegularSeries:
    """Place points on their regular grid, filling short gaps by linear interpolation.

    Args:
        epoch_s: strictly increasing epoch seconds, shape (n,).
        values: the observation at each instant, shape (n,).

    Raises:
        SeriesError: no data, points off the grid, or gaps too long to fill.
    """
    epoch_s = np.asarray(epoch_s, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    if len(epoch_s) < 2:
        raise SeriesError(f"the series has {len(epoch_s)} points; import some history first")
    steps = np.diff(epoch_s)
    if (steps <= 0).any():
        raise SeriesError("timestamps must strictly increase")
    interval_s = int(np.gcd.reduce(steps))
    if interval_s < int(np.median(steps)):
        raise SeriesError(
            f"timestamps are not on one regular grid (steps of {sorted(set(steps.tolist()))[:5]} "
            "seconds): resample the series to one interval before importing it"
        )
    slots = (epoch_s - epoch_s[0]) // interval_s
    grid = np.full(int(slots[-1]) + 1, np.nan)
    grid[slots] = values
    missing = np.isnan(grid)
    _check_gaps(missing, interval_s, int(epoch_s[0]))
    if missing.any():
        known = np.flatnonzero(~missing)
        grid[missing] = np.interp(np.flatnonzero(missing), known, grid[known])
    return RegularSeries(grid, int(epoch_s[0]), interval_s, int(missing.sum()))


def _check_gaps(missing: np.ndarray, interval_s: int, start_s: int) -> None:
    if not missing.any():
        return
    n = len(missing)
    edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    longest = int(np.argmax(ends - starts))
    longest_len = int(ends[longest] - starts[longest])
    allowed = max(3, int(MAX_GAP_SHARE * n))
    if missing.mean() > MAX_MISSING_SHARE or longest_len > allowed:
        raise SeriesError(
            f"the series misses {int(missing.sum())} of {n} intervals "
            f"({missing.mean():.1%}); the longest gap is {longest_len} intervals of "
            f"{interval_s}s starting at epoch second {start_s + int(starts[longest]) * interval_s}."
            f" At most {MAX_MISSING_SHARE:.0%} missing and gaps of {allowed} intervals are filled:"
            " supply the missing data"
        )
