"""Turn a trace file into request rates at the simulator's step, its shape scaled to a peak."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forecasting.trace import read_trace


@dataclass(frozen=True)
class Load:
    """Online arrivals per step.

    Attributes:
        name: the trace file's name.
        rps: requests per second in each step, shape (T,).
        start_s: seconds since midnight UTC of the first step's start (for the nightly batch).
        step_s: step length in seconds.
        source_interval_s: the trace's own interval.
        peak_to_median: peak / median of the trace's values at its own interval (inf when the
            median is 0, as in sparse request traces).
        start_day: the first step's date as days since 1970-01-01 (UTC).
        filled: missing intervals of the trace filled by linear interpolation.
        regridded: rows of the trace that were off its regular grid (moved, or averaged).
    """

    name: str
    rps: np.ndarray
    start_s: float
    step_s: int
    source_interval_s: int
    peak_to_median: float
    start_day: int = 0
    filled: int = 0
    regridded: int = 0

    @property
    def duration_h(self) -> float:
        """Hours covered."""
        return len(self.rps) * self.step_s / 3600


def load_trace(path: str | Path, *, step_s: int = 60, peak_rps: float = 5000.0) -> Load:
    """Read a trace, resample it to `step_s` and scale its shape so the peak is `peak_rps`.

    A few missing intervals are filled by linear interpolation, and jittered or irregular
    timestamps put on the median step's grid (as `read_trace` does).
    Every trace is used as a shape: request counts and CPU levels alike are divided by their
    peak (after resampling) and multiplied by `peak_rps`, so a trace of any unit drives the
    same service. Finer traces are averaged over each step; coarser ones are interpolated
    linearly between interval midpoints (a CPU level is a rate, not a burst at the interval
    start).

    Raises:
        forecasting.trace.TraceError: (a ValueError) the file breaks the trace format.
        ValueError: the trace is shorter than one step or is all zeros.
    """
    trace = read_trace(path)
    rate = resample(trace.values / trace.interval_s, trace.interval_s, step_s)
    if len(rate) == 0:
        raise ValueError(
            f"trace {trace.name}: {trace.duration_h * 3600:g} s is shorter than one {step_s} s step"
        )
    peak = float(rate.max())
    if peak <= 0:
        raise ValueError(f"trace {trace.name}: every value is 0; there is no shape to scale")
    start = trace.timestamps[0].astype("datetime64[s]").astype(np.int64)
    median = float(np.median(trace.values))
    return Load(
        name=trace.name,
        rps=rate * (peak_rps / peak),
        start_s=float(start % 86400),
        step_s=step_s,
        source_interval_s=trace.interval_s,
        peak_to_median=float(trace.values.max() / median) if median > 0 else float("inf"),
        start_day=int(start // 86400),
        filled=trace.filled,
        regridded=trace.regridded,
    )


def resample(rate: np.ndarray, interval_s: int, step_s: int) -> np.ndarray:
    """Rates per `interval_s` (n,) as rates per `step_s` (m,), covering whole steps only."""
    if interval_s == step_s:
        return rate.astype(float)
    total_s = len(rate) * interval_s
    n_steps = int(total_s // step_s)
    if interval_s < step_s and step_s % interval_s == 0:
        k = step_s // interval_s
        means: np.ndarray = rate[: n_steps * k].reshape(n_steps, k).mean(axis=1)
        return means
    if interval_s < step_s:
        edges = np.arange(n_steps + 1) * step_s
        cumulative = np.concatenate([[0.0], np.cumsum(rate * interval_s)])
        counts = np.interp(edges, np.arange(len(rate) + 1) * interval_s, cumulative)
        rates: np.ndarray = np.diff(counts) / step_s
        return rates
    centres = (np.arange(n_steps) + 0.5) * step_s
    interpolated: np.ndarray = np.interp(centres, (np.arange(len(rate)) + 0.5) * interval_s, rate)
    return interpolated
