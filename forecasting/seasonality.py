"""Season lengths and the modelling step for a series, chosen from its interval and length.

Models fit bucket means at a *modelling step* no finer than the trace, then map the forecast
back to the trace's own interval (see `forecasting.resampling`). The plan:

| trace interval           | history   | modelling step         | seasons (modelling steps)   |
|--------------------------|-----------|------------------------|-----------------------------|
| divides a day, < 1 h     | >= 2 days | 1 h                    | daily 24; weekly 168 from   |
| (1 s, 1 min, 5 min, ...) |           |                        | 14 days of history          |
| divides a day, >= 1 h    | >= 2 days | the interval itself    | daily 86400 / interval_s;   |
|                          |           |                        | weekly x 7 from 14 days     |
| anything else, e.g. an   | any       | coarsest of 1, 2, 5,   | the clearest autocorrelation|
| hour of 1 s requests     |           | 10, 15, 30, 60 steps   | peak (>= 0.3, 0.1 above the |
|                          |           | keeping >= 240 buckets | dip before it, >= 3 cycles);|
|                          |           |                        | else none                   |

Examples: 27 days at 1 min -> hourly buckets of 60, seasons (24, 168), i.e. 1440 and 10080
minutes; 6 days at 5 min -> hourly buckets of 12, season 24 (288 trace steps); 58 min at 1 s ->
buckets of 10 s, no season (the per-second Azure LLM trace has none that is clear).

Why: an hourly step keeps a daily season at 24 points and a weekly one at 168, which ETS, ARIMA
errors and an LSTM fit in about a second; weeks of per-minute data become ~700 buckets. Only the
last 6 weeks are used (older load rarely predicts tomorrow's better, and fits stay fast). The
within-hour shape and noise come back in `resampling`. A daily season needs two days of
history; a weekly one two full weeks. Traces shorter than two days (an hour of per-second
requests) get no calendar season: nothing daily can be learnt from them.

The *native season* (the daily season in trace intervals, else the detected one, else 1) is what
the seasonal naive baseline repeats and what MASE is scaled by.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DAY_S = 86_400
HOUR_S = 3_600
MAX_HISTORY_S = 6 * 7 * DAY_S
SHORT_FACTORS = (1, 2, 5, 10, 15, 30, 60)
MIN_BUCKETS = 240
MIN_AUTOCORRELATION = 0.3
MIN_PROMINENCE = 0.1


@dataclass(frozen=True)
class SeasonPlan:
    """How one series is modelled.

    Attributes:
        interval_s: the trace's interval in seconds.
        factor: trace intervals per modelling step (1 = the trace's own step).
        seasons: season lengths in modelling steps, shortest first (may be empty).
        history: trace intervals of the most recent history the models use.
        native_season: the main season in trace intervals (1 when there is none).
    """

    interval_s: int
    factor: int
    seasons: tuple[int, ...]
    history: int
    native_season: int

    @property
    def step_s(self) -> int:
        """The modelling step in seconds."""
        return self.interval_s * self.factor


def plan_seasons(interval_s: int, y: np.ndarray) -> SeasonPlan:
    """Choose the modelling step and seasons for series `y` (n,), `interval_s` seconds a step."""
    if interval_s < 1:
        raise ValueError(f"interval_s must be >= 1, got {interval_s}")
    if DAY_S % interval_s == 0 and len(y) * interval_s >= 2 * DAY_S:
        return _calendar_plan(interval_s, len(y))
    return _detected_plan(interval_s, y)


def _calendar_plan(interval_s: int, n: int) -> SeasonPlan:
    per_day = DAY_S // interval_s
    divisors = [f for f in range(1, per_day + 1) if per_day % f == 0 and f * interval_s <= HOUR_S]
    factor = max(divisors, default=1)
    history = min(n, MAX_HISTORY_S // interval_s)
    history -= history % factor
    daily = per_day // factor
    weekly = (7 * daily,) if history * interval_s >= 14 * DAY_S else ()
    return SeasonPlan(interval_s, factor, (daily, *weekly), history, per_day)


def _detected_plan(interval_s: int, y: np.ndarray) -> SeasonPlan:
    fitting = [f for f in SHORT_FACTORS if len(y) // f >= MIN_BUCKETS]
    factor = max(fitting, default=1)
    history = len(y) - len(y) % factor
    season = detect_season(aggregate_series(y[-history:], factor))
    seasons = (season,) if season > 1 else ()
    return SeasonPlan(interval_s, factor, seasons, history, season * factor if season > 1 else 1)


def detect_season(z: np.ndarray, min_cycles: int = 3) -> int:
    """The lag of the highest clear autocorrelation peak of `z` (n,), or 1 if there is none.

    A peak must be a local maximum of the autocorrelation of the linearly detrended series,
    reach `MIN_AUTOCORRELATION`, stand `MIN_PROMINENCE` above the lowest autocorrelation at a
    shorter lag (a slowly wandering level keeps every lag high without any cycle), and repeat
    at least `min_cycles` times in the data.
    """
    n = len(z)
    max_lag = n // min_cycles
    if max_lag < 4:
        return 1
    detrended = z - np.polyval(np.polyfit(np.arange(n), z, 1), np.arange(n))
    acf = compute_autocorrelation(detrended, max_lag)
    peaks = [
        lag
        for lag in range(2, max_lag)
        if acf[lag] >= MIN_AUTOCORRELATION
        and acf[lag] > acf[lag - 1]
        and acf[lag] >= acf[lag + 1]
        and acf[lag] - acf[1:lag].min() >= MIN_PROMINENCE
    ]
    return max(peaks, key=lambda lag: acf[lag], default=1)


def compute_autocorrelation(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelation of `x` (n,) at lags 0..max_lag, shape (max_lag + 1,)."""
    x = x - x.mean()
    denominator = float(x @ x)
    if denominator == 0:
        return np.zeros(max_lag + 1)
    spectrum = np.fft.rfft(x, 2 * len(x))
    return np.fft.irfft(spectrum * np.conj(spectrum))[: max_lag + 1] / denominator


def aggregate_series(y: np.ndarray, factor: int) -> np.ndarray:
    """Mean of each bucket of `factor` values, buckets aligned to the end of `y`; (n // factor,)."""
    n = len(y) - len(y) % factor
    means: np.ndarray = y[len(y) - n :].reshape(-1, factor).mean(axis=1)
    return means


def estimate_weekly_factors(z: np.ndarray, daily: int) -> np.ndarray:
    """Weekly multiplicative factors beyond the daily shape, one per step of the week (7*daily,).

    Classical decomposition: each value over its centred one-week moving average gives the
    weekly profile; dividing out its mean day leaves what distinguishes the days of the week.
    `factors[p]` belongs to the steps t with `(t - len(z)) % (7 * daily) == p`, so `factors[0]`
    is the first step after `z`.
    """
    weekly = 7 * daily
    n = len(z) - len(z) % weekly
    recent = z[len(z) - n :]
    kernel = np.ones(weekly + 1)
    kernel[[0, -1]] = 0.5
    trend = np.convolve(recent, kernel / weekly, mode="same")
    valid = np.zeros(n, dtype=bool)
    valid[weekly // 2 : n - weekly // 2] = True
    valid &= trend > 0
    ratio = np.where(valid, recent / np.where(valid, trend, 1), 0.0).reshape(-1, weekly)
    counts = valid.reshape(-1, weekly).sum(axis=0)
    profile = np.where(counts > 0, ratio.sum(axis=0) / np.maximum(counts, 1), 1.0)
    day_shape = np.tile(profile.reshape(7, daily).mean(axis=0), 7)
    factors = np.where(day_shape > 0, profile / np.where(day_shape > 0, day_shape, 1), 1.0)
    # Bounded so that dividing by a factor never blows up a quiet hour of one weekday.
    bounded: np.ndarray = np.clip(factors / factors.mean(), 0.1, 10.0)
    return bounded
