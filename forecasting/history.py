"""Turn stored observations (timestamps with possible gaps) into a regular series to forecast."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forecasting.base import SeriesError
from forecasting.bounds import grid_refusal

# Short gaps are common in scraped metrics; filling up to 5% of the points, none of them longer
# than 1% of the history (and at least 3 intervals), keeps forecasts honest. Longer holes refuse.
MAX_MISSING_SHARE = 0.05
MAX_GAP_SHARE = 0.01
# Intervals monitoring systems sample at, in seconds: a jittered series is put on the nearest.
USUAL_STEPS_S = np.array(
    [1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 3600, 7200, 86400]
)


@dataclass(frozen=True)
class RegularSeries:
    """A series on a regular grid: `values` (n,), the grid's first instant and its step.

    `filled` counts the grid points no observation fell on (interpolated); `regridded` the
    observations that were off the grid (moved to the nearest point, averaged where several
    met there); `dropped` the stray observations left out (`regularize(drop_strays=True)`).
    """

    values: np.ndarray
    start_s: int
    interval_s: int
    filled: int
    regridded: int = 0
    dropped: int = 0

    @property
    def end_s(self) -> int:
        """Epoch second of the last point."""
        return self.start_s + (len(self.values) - 1) * self.interval_s


def whole_seconds(epoch_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Epoch nanoseconds (n,) to the nearest epoch second (half up), and which points moved.

    A scraper's timestamps carry milliseconds of jitter; grids are whole seconds, so each point
    is rounded first (and counted by `regularize` through `moved`).
    """
    epoch_ns = np.asarray(epoch_ns, dtype=np.int64)
    return (epoch_ns + 500_000_000) // 1_000_000_000, epoch_ns % 1_000_000_000 != 0


def regularize(
    epoch_s: np.ndarray,
    values: np.ndarray,
    moved: np.ndarray | None = None,
    *,
    drop_strays: bool = False,
) -> RegularSeries:
    """Place points on their regular grid, filling short gaps by linear interpolation.

    Points on one grid keep their instants. Jittered or irregular timestamps (no common step
    as long as the median one) are put on the grid of the median step: each point at its
    nearest grid instant, the mean of those that meet at one, and `regridded` counts them.

    The grid is sized before it is built: more than `forecasting.bounds.MAX_GRID_SLOTS`
    slots, or over twice as many slots as points (far more missing than is ever filled), is
    refused without allocating it (a stray timestamp years away).

    Args:
        epoch_s: strictly increasing epoch seconds, shape (n,).
        values: the observation at each instant, shape (n,).
        moved: (n,) bool, points whose instants were rounded to the second before
            (`whole_seconds`); `regridded` counts them too.
        drop_strays: leave out the stray points first (`stray_points`), as stored series
            read for forecasts and replays do; `dropped` counts them.

    Raises:
        SeriesError: no data, timestamps out of order, a grid too long, or gaps too long to
            fill.
    """
    epoch_s = np.asarray(epoch_s, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    dropped = 0
    if drop_strays and len(epoch_s) > 2:
        keep = ~stray_points(epoch_s)
        dropped = int((~keep).sum())
        epoch_s, values = epoch_s[keep], values[keep]
        moved = None if moved is None else np.asarray(moved, dtype=bool)[keep]
    if len(epoch_s) < 2:
        raise SeriesError(f"the series has {len(epoch_s)} points; import some history first")
    interval_s, slots = grid_slots(epoch_s)
    if refusal := grid_refusal(int(epoch_s[0]), int(epoch_s[-1]), interval_s):
        raise SeriesError(refusal)
    _check_room(int(slots[-1]) + 1, len(np.unique(slots)), interval_s)
    counts = np.bincount(slots)
    grid = np.bincount(slots, weights=values) / np.where(counts > 0, counts, 1)
    grid[counts == 0] = np.nan
    on_grid = ((epoch_s - epoch_s[0]) % interval_s == 0) & (counts[slots] == 1)
    if moved is not None:
        on_grid &= ~np.asarray(moved, dtype=bool)
    missing = np.isnan(grid)
    _check_gaps(missing, interval_s, int(epoch_s[0]))
    if missing.any():
        known = np.flatnonzero(~missing)
        grid[missing] = np.interp(np.flatnonzero(missing), known, grid[known])
    return RegularSeries(
        grid, int(epoch_s[0]), interval_s, int(missing.sum()), int((~on_grid).sum()), dropped
    )


def stray_points(epoch_s: np.ndarray) -> np.ndarray:
    """(n,) bool: the points of small clusters cut off from the rest by a gap too long to fill.

    The series is cut at every gap longer than `regularize` fills (1 % of the points, at least
    3 median steps); a stretch holding at most `MAX_MISSING_SHARE` (5 %) of the points is
    stray, unless it is the largest. So two points posted at a test timestamp weeks away do not
    stop a series' forecasts, while a long hole in the middle of real history still does.
    """
    epoch_s = np.asarray(epoch_s, dtype=np.int64)
    n = len(epoch_s)
    stray = np.zeros(n, dtype=bool)
    if n < 3:
        return stray
    steps = np.diff(epoch_s)
    median_s = max(float(np.median(steps)), 1.0)
    allowed = max(3, int(MAX_GAP_SHARE * n))
    cuts = np.flatnonzero(steps > (allowed + 1) * median_s) + 1
    if not len(cuts):
        return stray
    bounds = np.concatenate([[0], cuts, [n]])
    sizes = np.diff(bounds)
    largest = int(np.argmax(sizes))
    for index, (start, size) in enumerate(zip(bounds[:-1], sizes, strict=True)):
        if index != largest and size <= MAX_MISSING_SHARE * n:
            stray[start : start + size] = True
    return stray


def grid_slots(epoch_s: np.ndarray) -> tuple[int, np.ndarray]:
    """The grid's step and each point's index on it, the grid starting at the first point.

    The step is the greatest common one when that is as long as the median step (a regular
    series, perhaps with gaps). Otherwise it is the usual monitoring interval (`USUAL_STEPS_S`)
    within 5 % of the median step, or that median rounded to a second when none is: a jittered
    median (303 s for a 300 s scrape) would let the grid drift from the points over a long
    series. Each point goes to its nearest grid instant (the later one at a tie).

    Raises:
        SeriesError: timestamps that do not strictly increase.
    """
    steps = np.diff(epoch_s)
    if (steps <= 0).any():
        raise SeriesError("timestamps must strictly increase, at least a second apart")
    interval_s = int(np.gcd.reduce(steps))
    median_s = float(np.median(steps))
    if interval_s < median_s:
        usual = USUAL_STEPS_S[np.argmin(np.abs(USUAL_STEPS_S - median_s))]
        interval_s = int(usual) if abs(usual - median_s) <= 0.05 * median_s else round(median_s)
    offset = epoch_s - epoch_s[0]
    return interval_s, (offset + interval_s // 2) // interval_s


def _check_room(slots: int, filled: int, interval_s: int) -> None:
    """Refuse, before it is built, a grid of which over half would be missing.

    `_check_gaps` refuses any grid missing over `MAX_MISSING_SHARE` once built (naming the
    longest gap); this only keeps a grid far larger than its points from being allocated.
    """
    missing = slots - filled
    if slots > 2 * filled:
        raise SeriesError(
            f"the series misses {missing:,} of {slots:,} intervals of {interval_s}s "
            f"({missing / slots:.1%}); at most {MAX_MISSING_SHARE:.0%} missing is filled: "
            "supply the missing data (or check for a timestamp far from the others)"
        )


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
