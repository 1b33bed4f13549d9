"""The ensemble: the average of ETS, SARIMA and Prophet, quantile by quantile."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np

from forecasting.base import DEFAULT_QUANTILES, Forecast, Forecaster, build_forecast

ENSEMBLE_MEMBERS = ("ets", "sarima", "prophet")


class Ensemble:
    """Fits each member and averages their means and, level by level, their quantiles.

    Averaging quantiles (Vincentization) keeps them ordered and is a well-tried way to
    combine probabilistic forecasts. On the development traces the average of these three
    beat each of them on MASE on four of six traces (see docs/benchmarks/forecasting.md); the
    LSTM is left out because it costs the most and its intervals are the least reliable.
    `auto` uses the same class, named after its members, for its weighted average of two models.
    """

    def __init__(
        self,
        members: Sequence[Forecaster],
        name: str = "ensemble",
        weights: Sequence[float] | None = None,
    ) -> None:
        self.members = list(members)
        self.name = name  # `auto` names its combinations after their members
        self.weights = weights  # None: equal

    def fit(self, y: np.ndarray) -> Self:
        """Fit every member on `y` (n,)."""
        for member in self.members:
            member.fit(y)
        plans = (getattr(m, "plan_", None) for m in self.members)
        self.plan_ = next((plan for plan in plans if plan is not None), None)
        return self

    def predict(self, h: int, quantiles: Sequence[float] = DEFAULT_QUANTILES) -> Forecast:
        """The members' forecasts averaged (weighted when weights were given)."""
        forecasts = [member.predict(h, quantiles) for member in self.members]
        return combine_forecasts(forecasts, self.weights)


def combine_forecasts(
    forecasts: Sequence[Forecast], weights: Sequence[float] | None = None
) -> Forecast:
    """Average means and same-level quantiles of forecasts with the same horizon and levels.

    `weights` (one per forecast, any positive scale) weigh the average; None weighs all alike.
    The average of whole-number forecasts is rounded again (`Forecast.whole`).
    """
    levels = forecasts[0].quantiles.keys()
    return build_forecast(
        np.average([f.mean for f in forecasts], axis=0, weights=weights),
        {
            q: np.average([f.quantiles[q] for f in forecasts], axis=0, weights=weights)
            for q in levels
        },
        whole=all(f.whole for f in forecasts),
    )
