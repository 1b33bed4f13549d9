"""Regression on Fourier seasons with ARIMA errors (statsmodels SARIMAX), bounded order search."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Self

import numpy as np
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.statespace.sarimax import SARIMAX
from statsmodels.tsa.stattools import kpss

from forecasting.base import Forecast, build_gaussian_forecast
from forecasting.seasonality import SeasonPlan

ARMA_ORDERS = ((1, 0), (2, 0), (1, 1), (0, 1), (2, 1))
HARMONIC_CHOICES = (2, 4, 8)  # Fourier pairs tried per season, capped at season / 2 - 1
KPSS_LEVEL = 0.05


class Sarima:
    """Seasonal ARIMA as dynamic harmonic regression, fitted in two fast stages.

    1. Ordinary least squares of the bucket means on a constant plus sin/cos pairs for each
       season; the number of pairs per season is chosen by BIC from `HARMONIC_CHOICES`.
    2. An ARIMA(p, d, q) on the regression residuals: d from a KPSS test (0 or 1), (p, q) the
       best AIC of `ARMA_ORDERS` (five small fits, about a second on 1,000 points).

    Long seasons (168 hourly steps) cost nothing this way, unlike seasonal AR/MA lags. The
    forecast is the seasonal regression plus the ARIMA forecast of the residual; quantiles are
    normal with the ARIMA forecast variance (the regression's own error is left out: with
    hundreds of points it is small next to the residual's).
    """

    def fit(self, z: np.ndarray, plan: SeasonPlan) -> Self:
        """Fit on bucket means `z` (n,) with the plan's seasons."""
        self.seasons_ = tuple(m for m in plan.seasons if len(z) >= 2 * m)
        self.harmonics_ = choose_harmonics(z, self.seasons_)
        design = build_fourier_design(np.arange(len(z)), self.seasons_, self.harmonics_)
        self.coef_, *_ = np.linalg.lstsq(design, z, rcond=None)
        residual = z - design @ self.coef_
        self.n_ = len(z)
        self.order_, self.results_ = fit_best_arima(residual)
        return self

    def predict(self, h: int, quantiles: Sequence[float]) -> Forecast:
        """Forecast `h` bucket means: seasonal regression plus ARIMA residual forecast."""
        steps = np.arange(self.n_, self.n_ + h)
        seasonal = build_fourier_design(steps, self.seasons_, self.harmonics_) @ self.coef_
        if self.results_ is None:
            return build_gaussian_forecast(seasonal, np.zeros(h), quantiles)
        prediction = self.results_.get_forecast(h)
        mean = seasonal + np.asarray(prediction.predicted_mean)
        return build_gaussian_forecast(
            mean, np.sqrt(np.asarray(prediction.var_pred_mean)), quantiles
        )


def build_fourier_design(
    steps: np.ndarray, seasons: Sequence[int], harmonics: Sequence[int]
) -> np.ndarray:
    """A constant and sin/cos pairs: (len(steps), 1 + 2 * sum(harmonics))."""
    columns = [np.ones(len(steps))]
    for season, count in zip(seasons, harmonics, strict=True):
        for k in range(1, count + 1):
            angle = 2 * np.pi * k * steps / season
            columns += [np.sin(angle), np.cos(angle)]
    return np.column_stack(columns)


def choose_harmonics(z: np.ndarray, seasons: Sequence[int]) -> tuple[int, ...]:
    """Fourier pairs per season with the lowest BIC of the least-squares fit."""
    chosen: list[int] = []
    for i, season in enumerate(seasons):
        choices = sorted({min(c, season // 2 - 1) for c in HARMONIC_CHOICES} - {0})
        chosen.append(
            min(choices, key=lambda c: _bic(z, seasons[: i + 1], [*chosen, c]), default=0)
        )
    return tuple(chosen)


def _bic(z: np.ndarray, seasons: Sequence[int], harmonics: Sequence[int]) -> float:
    design = build_fourier_design(np.arange(len(z)), seasons, harmonics)
    coef, *_ = np.linalg.lstsq(design, z, rcond=None)
    rss = float(np.sum((z - design @ coef) ** 2))
    bic: float = len(z) * np.log(max(rss, 1e-300) / len(z)) + design.shape[1] * np.log(len(z))
    return bic


def fit_best_arima(residual: np.ndarray) -> tuple[tuple[int, int, int], Any]:
    """((p, d, q), SARIMAXResults) with the lowest AIC, or ((0, 0, 0), None) if all fail."""
    d = choose_differencing(residual)
    best, best_order = None, (0, 0, 0)
    for p, q in ARMA_ORDERS:
        results = _fit_arima(residual, (p, d, q))
        if results is not None and (best is None or results.aic < best.aic):
            best, best_order = results, (p, d, q)
    return best_order, best


def choose_differencing(residual: np.ndarray) -> int:
    """1 if a KPSS test rejects level stationarity at 5 %, else 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # KPSS warns when p lies outside its table
        p_value = kpss(residual, regression="c", nlags="auto")[1]
    return int(p_value < KPSS_LEVEL)


def _fit_arima(residual: np.ndarray, order: tuple[int, int, int]) -> Any:
    """SARIMAXResults of one order (statsmodels is untyped), or None if the fit fails."""
    model = SARIMAX(residual, order=order, trend="n", concentrate_scale=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        try:
            results = model.fit(disp=False, maxiter=100)
        except (np.linalg.LinAlgError, ValueError):
            return None
    return results if np.isfinite(results.aic) else None
