"""Forecasts shared by the predictive policies, refitted at most once per refit period."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from forecasting.base import Forecaster
from forecasting.forecast import forecast_series

LEVELS = (0.5, 0.9, 0.99)
MIN_HISTORY = 48  # forecasting's shortest series
MAX_HISTORY_STEPS = 14 * 1440  # two weeks of minutes: enough seasons, bounded fit time

History = Callable[[int, int], np.ndarray]  # (start, stop) -> rps of steps start..stop-1


class ForecastFeed:
    """Forecasts of a load, made from its history only, cached per refit point.

    The forecast for steps t..t+h-1 comes from the latest refit at or before t, fitted on the
    steps before that refit: a policy never sees a forecast made with data it could not have.
    `history` gives the load of steps [start, stop): the trace in the simulator, the stored
    metrics in the live controller, which keeps only the newest refit between steps
    (`state` / `restore`), so a restart does not refit. `make_model`, when given, builds the
    forecaster each refit fits instead of `model` by name (an LSTM with a shorter training).
    """

    def __init__(
        self,
        history: History | np.ndarray,
        step_s: int,
        *,
        refit_s: int,
        model: str,
        lead_steps: int,
        seed: int,
        make_model: Callable[[], Forecaster] | None = None,
    ):
        if not callable(history):
            rps = np.asarray(history, dtype=float)
            history = lambda start, stop: rps[start:stop]  # noqa: E731
        self.history = history
        self.step_s = step_s
        self.refit_steps = max(1, refit_s // step_s)
        self.model = model
        self.lead_steps = lead_steps
        self.seed = seed
        self.make_model = make_model
        self._cache: dict[int, dict[float, np.ndarray] | None] = {}

    def _fit(self, origin: int) -> dict[float, np.ndarray] | None:
        if origin not in self._cache:
            history = self.history(max(0, origin - MAX_HISTORY_STEPS), origin)
            self._cache[origin] = None
            if len(history) >= MIN_HISTORY and np.ptp(history) > 0:
                horizon = self.refit_steps + self.lead_steps
                if self.make_model is None:
                    fc = forecast_series(
                        history,
                        self.step_s,
                        horizon,
                        model=self.model,
                        quantiles=LEVELS,
                        seed=self.seed,
                    ).forecast
                else:
                    fc = self.make_model().fit(history).predict(horizon, LEVELS)
                self._cache[origin] = {
                    0.0: np.maximum(np.asarray(fc.mean, dtype=float), 0.0),
                    **{
                        q: np.maximum(np.asarray(fc.quantiles[q], dtype=float), 0.0) for q in LEVELS
                    },
                }
        return self._cache[origin]

    def at(self, t: int, horizon: int, level: float = 0.0) -> np.ndarray | None:
        """Forecast rps for steps t..t+horizon-1 (level 0.0 = mean), or None without history."""
        origin = (t // self.refit_steps) * self.refit_steps
        series = self._fit(origin)
        if series is None:
            return None
        start = t - origin
        out = series[level][start : start + horizon]
        if len(out) < horizon:
            out = np.concatenate([out, np.full(horizon - len(out), out[-1] if len(out) else 0.0)])
        return out

    def state(self) -> dict[str, Any]:
        """The newest refit as plain data: {"origin", "levels": {level: [rps, ...]} or None}."""
        if not self._cache:
            return {}
        origin = max(self._cache)
        series = self._cache[origin]
        levels = None if series is None else {str(q): v.tolist() for q, v in series.items()}
        return {"origin": origin, "levels": levels}

    def restore(self, state: dict[str, Any]) -> None:
        """Take back what `state` returned; older refits are forgotten."""
        self._cache.clear()
        if state:
            levels = state["levels"]
            self._cache[int(state["origin"])] = (
                None
                if levels is None
                else {float(q): np.asarray(v, dtype=float) for q, v in levels.items()}
            )
