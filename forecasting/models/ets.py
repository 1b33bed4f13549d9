"""Exponential smoothing (statsmodels ETSModel) with a daily season and weekly day factors."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import pandas as pd
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

from forecasting.base import Forecast, build_gaussian_forecast
from forecasting.seasonality import SeasonPlan, estimate_weekly_factors

# (trend, damped): candidates compared by AIC, all with additive errors and season.
VARIANTS = ((None, False), ("add", True))


class Ets:
    """Additive-error ETS on bucket means; the better of no trend and damped trend by AIC.

    The first season of the plan is the ETS season (it needs two full seasons of data). A weekly
    season, which ETS cannot carry (168 seasonal states), is divided out first as multiplicative
    per-step factors (`estimate_weekly_factors`) and multiplied back into the forecast.
    Quantiles come from the model's exact forecast variance, assuming normal errors.

    The series is fitted in units of its own standard deviation: statsmodels optimises the
    initial level and season (in the series' unit) beside the smoothing weights (in [0, 1]), so
    the optimum it reaches depended on the unit (requests per hour or per minute, a CPU level of
    0.4 or 6e6). The additive model scales exactly, so the forecast is scaled back.
    """

    def fit(self, z: np.ndarray, plan: SeasonPlan) -> Self:
        """Fit on bucket means `z` (n,) with the plan's seasons."""
        seasons = [m for m in plan.seasons if len(z) >= 2 * m + 2]
        weekly = seasons[1] if len(seasons) > 1 else None
        self.weekly_factors_ = estimate_weekly_factors(z, seasons[0]) if weekly else np.ones(1)
        adjusted = z / self._factors(np.arange(len(z)) - len(z))
        self.unit_ = float(np.std(adjusted)) or 1.0
        season = seasons[0] if seasons else None
        self.results_ = min(
            (fit_ets(adjusted / self.unit_, trend, damped, season) for trend, damped in VARIANTS),
            key=lambda result: result.aic if np.isfinite(result.aic) else np.inf,
        )
        return self

    def predict(self, h: int, quantiles: Sequence[float]) -> Forecast:
        """Forecast `h` bucket means with normal quantiles from the forecast variance."""
        n = self.results_.nobs
        prediction = self.results_.get_prediction(start=n, end=n + h - 1)
        factors = self._factors(np.arange(h)) * self.unit_
        mean = np.asarray(prediction.predicted_mean) * factors
        sd = np.sqrt(np.asarray(prediction.forecast_variance)) * factors
        return build_gaussian_forecast(mean, sd, quantiles)

    def _factors(self, steps_from_end: np.ndarray) -> np.ndarray:
        factors: np.ndarray = self.weekly_factors_[steps_from_end % len(self.weekly_factors_)]
        return factors


def fit_ets(z: np.ndarray, trend: str | None, damped: bool, season: int | None) -> Any:
    """Fit one ETSModel variant by maximum likelihood (statsmodels' ETSResults)."""
    model = ETSModel(
        pd.Series(z),  # statsmodels 0.15 needs an index for get_prediction
        error="add",
        trend=trend,
        damped_trend=damped,
        seasonal="add" if season else None,
        seasonal_periods=season,
    )
    with warnings.catch_warnings():
        # Non-convergence warnings are common on flat stretches; the AIC still ranks fits.
        warnings.simplefilter("ignore")
        return model.fit(disp=False, maxiter=200)
