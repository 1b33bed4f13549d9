"""Forecast accuracy scores: MASE, sMAPE, interval coverage and pinball loss."""

from __future__ import annotations

import numpy as np

from forecasting.base import Forecast


def compute_mase_scale(history: np.ndarray, season: int) -> float:
    """In-sample mean absolute error of the season-`season` naive forecast of `history` (n,).

    Falls back to the lag-1 error when the history is too short for the season or repeats it
    exactly, so the scale is > 0 for any series that is not constant.
    """
    for lag in (season, 1):
        if 0 < lag < len(history):
            scale = float(np.mean(np.abs(history[lag:] - history[:-lag])))
            if scale > 0:
                return scale
    raise ValueError("the history is constant: MASE has no scale")


def compute_mase(actual: np.ndarray, forecast: np.ndarray, scale: float) -> float:
    """Mean absolute error of `forecast` over `actual` (h,), divided by `scale`."""
    return float(np.mean(np.abs(actual - forecast)) / scale)


def compute_smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric mean absolute percentage error in percent (0-200); a 0 forecast of 0 scores 0."""
    denominator = np.abs(actual) + np.abs(forecast)
    ratio = np.where(
        denominator > 0,
        2 * np.abs(actual - forecast) / np.where(denominator > 0, denominator, 1),
        0.0,
    )
    return float(100 * np.mean(ratio))


def compute_coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Fraction of `actual` (h,) inside [lower, upper]."""
    return float(np.mean((actual >= lower) & (actual <= upper)))


def compute_pinball(actual: np.ndarray, forecast: Forecast) -> float:
    """Pinball (quantile) loss averaged over the forecast's quantile levels and steps."""
    losses = []
    for q, values in forecast.quantiles.items():
        error = actual - values
        losses.append(np.mean(np.maximum(q * error, (q - 1) * error)))
    return float(np.mean(losses))
