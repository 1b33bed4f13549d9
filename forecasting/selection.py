"""The `auto` forecaster: picks a model per series from its recent backtests, and says why.

Rule: the ensemble (mean of ETS, SARIMA and Prophet) unless one model beat it by more than
`MARGIN` on the mean scaled pinball loss over the last `SELECTION_FOLDS` folds. Combinations
are hard to beat on average and picking the latest winner chases noise; a clear winner (an LSTM
on sparse, bursty requests) still gets picked. On the development traces this rule matched or
beat the best single model's MASE on each of them (docs/benchmarks/forecasting.md); the two
numbers (2 folds, 20 %) were tuned there, on six traces, so treat them as a sensible default.

The chosen model's intervals are then rescaled by one factor (`calibrate_width`) so that its
90 % intervals would have covered 90 % of the selection folds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np

from forecasting.backtest import (
    Backtest,
    FoldScore,
    add_ensemble,
    plan_origins,
    run_backtest,
    score_forecast,
)
from forecasting.base import (
    DEFAULT_QUANTILES,
    Forecast,
    Forecaster,
    SeriesError,
    check_quantiles,
    check_series,
)
from forecasting.calibration import calibrate_width, widen_forecast
from forecasting.models import ENSEMBLE, MODEL_NAMES, make_forecaster
from forecasting.models.ensemble import ENSEMBLE_MEMBERS

SELECTION_FOLDS = 2
CRITERION = "pinball_scaled"
MARGIN = 0.2  # how much better than the ensemble a single model must be to be chosen
FALLBACK_MODEL = ENSEMBLE


@dataclass(frozen=True)
class Selection:
    """Which model `auto` chose and why.

    Attributes:
        chosen: the model's name.
        reason: one human-readable sentence with the deciding numbers.
        scores: candidate -> mean criterion over the selection folds (NaN if it failed one).
        width_factor: how much the chosen model's quantiles are spread around its median.
    """

    chosen: str
    reason: str
    scores: dict[str, float]
    width_factor: float = 1.0


def select_model(
    scores: Mapping[str, Sequence[FoldScore]],
    *,
    horizon: int,
    criterion: str = CRITERION,
    margin: float = MARGIN,
) -> Selection:
    """Choose among candidates by their mean `criterion` over the given folds (lower wins).

    The ensemble, when it is a candidate, is kept unless the best other candidate's mean is
    more than `margin` (a fraction) below its own. Ties go to the earlier candidate. A
    candidate that refused any fold is not eligible.

    Raises:
        SeriesError: if every candidate refused a fold; the message carries their reasons.
    """
    means = {name: _mean_score(folds, criterion) for name, folds in scores.items()}
    eligible = {name: value for name, value in means.items() if math.isfinite(value)}
    if not eligible:
        errors = {name: next(s.error for s in f if s.error) for name, f in scores.items()}
        raise SeriesError(f"every model refused the series: {errors}")
    best = min((n for n in eligible if n != ENSEMBLE), key=eligible.__getitem__, default=ENSEMBLE)
    chosen = best
    if ENSEMBLE in eligible and not eligible[best] < (1 - margin) * eligible[ENSEMBLE]:
        chosen = ENSEMBLE
    folds = len(next(iter(scores.values())))
    scored = ", ".join(
        f"{name} {value:.3g}" if math.isfinite(value) else f"{name} refused"
        for name, value in means.items()
    )
    window = f"mean {criterion} over the last {folds} backtest folds of {horizon} steps"
    if ENSEMBLE not in eligible:
        why = f"{chosen} had the lowest {window}"
    elif chosen == ENSEMBLE:
        why = f"no model beat the ensemble by more than {margin:.0%} on {window}"
    else:
        gain = 1 - eligible[chosen] / eligible[ENSEMBLE]
        why = f"{chosen} beat the ensemble by {gain:.0%} (> {margin:.0%}) on {window}"
    return Selection(chosen, f"{why} ({scored})", means)


def _mean_score(folds: Sequence[FoldScore], criterion: str) -> float:
    if not folds or any(fold.error for fold in folds):
        return math.nan
    return float(np.mean([getattr(fold, criterion) for fold in folds]))


class AutoForecaster:
    """Backtests the candidates on the end of the series, then fits the best on all of it.

    Fitting costs `folds + 1` fits of every candidate; the ensemble is scored from its members'
    backtests when they are all candidates. A series too short for the selection folds gets
    `FALLBACK_MODEL` (the ensemble, or the first candidate), and the reason says so. After `fit`,
    `selection_` says what was chosen and why, and `backtest_` holds the candidates' scores
    (None after a fallback).
    """

    name = "auto"

    def __init__(
        self,
        *,
        interval_s: int,
        horizon: int,
        candidates: Sequence[str] = MODEL_NAMES,
        folds: int = SELECTION_FOLDS,
        seed: int = 0,
        criterion: str = CRITERION,
    ) -> None:
        self.interval_s = interval_s
        self.horizon = horizon
        self.candidates = tuple(candidates)
        self.folds = folds
        self.seed = seed
        self.criterion = criterion

    def fit(self, y: np.ndarray) -> Self:
        """Select a model from backtests on `y` (n,) and fit it on the whole series."""
        y = check_series(y)
        try:
            plan_origins(len(y), self.horizon, self.folds)
        except SeriesError as exc:
            fallback = FALLBACK_MODEL if self._has_ensemble() else self.candidates[0]
            self.selection_ = Selection(fallback, f"{fallback} by default: {exc}", {})
            self.backtest_ = None
        else:
            backtest = run_backtest(
                y,
                self._candidates(),
                interval_s=self.interval_s,
                horizon=self.horizon,
                folds=self.folds,
            )
            self.backtest_ = add_ensemble(backtest, y)
            selection = select_model(
                self.backtest_.scores, horizon=self.horizon, criterion=self.criterion
            )
            self.selection_ = calibrate_selection(selection, self.backtest_, y, range(self.folds))
        self.model_ = self._make(self.selection_.chosen).fit(y)
        return self

    def predict(self, h: int, quantiles: Sequence[float] = DEFAULT_QUANTILES) -> Forecast:
        """Forecast with the chosen model, its quantiles rescaled by the selection's factor."""
        levels = check_quantiles(quantiles)
        forecast = widen_forecast(
            self.model_.predict(h, check_quantiles([*levels, 0.5])), self.selection_.width_factor
        )
        return Forecast(forecast.mean, {q: forecast.quantiles[q] for q in levels})

    def _has_ensemble(self) -> bool:
        return set(ENSEMBLE_MEMBERS) <= set(self.candidates)

    def _candidates(self) -> list[Forecaster]:
        return [self._make(name) for name in self.candidates]

    def _make(self, name: str) -> Forecaster:
        return make_forecaster(name, interval_s=self.interval_s, seed=self.seed)


def calibrate_selection(
    selection: Selection, backtest: Backtest, y: np.ndarray, folds: Sequence[int]
) -> Selection:
    """`selection` with the width factor fitted on the chosen model's forecasts at `folds`."""
    forecasts = [backtest.forecasts[selection.chosen][i] for i in folds]
    if any(f is None for f in forecasts):
        return selection
    actuals = [y[backtest.origins[i] : backtest.origins[i] + backtest.horizon] for i in folds]
    factor = calibrate_width([f for f in forecasts if f is not None], actuals)
    note = "" if factor == 1 else f"; intervals x{factor:g} to cover 90 % on those folds"
    return dataclasses.replace(selection, reason=selection.reason + note, width_factor=factor)


def score_auto_folds(
    backtest: Backtest, y: np.ndarray, *, warmup: int, criterion: str = CRITERION
) -> tuple[list[FoldScore], list[Selection]]:
    """What `AutoForecaster(folds=warmup)` scores on each backtest fold after the first `warmup`.

    `backtest` should hold the ensemble too (`add_ensemble`) when its members are candidates.

    The candidates' backtest already holds what auto would compute: with back-to-back folds,
    auto fitted at fold i's origin selects on folds i-warmup..i-1 and then forecasts exactly
    what its choice forecast at fold i. Its fit time is counted in full: every candidate's fits
    on the selection folds plus the chosen model's fit.
    """
    results, selections = [], []
    for i in range(warmup, len(backtest.origins)):
        window = {name: list(s[i - warmup : i]) for name, s in backtest.scores.items()}
        selection = select_model(window, horizon=backtest.horizon, criterion=criterion)
        selection = calibrate_selection(selection, backtest, y, range(i - warmup, i))
        chosen = backtest.scores[selection.chosen][i]
        forecast = backtest.forecasts[selection.chosen][i]
        if forecast is not None:
            origin = backtest.origins[i]
            actual = y[origin : origin + backtest.horizon]
            widened = widen_forecast(forecast, selection.width_factor)
            rescored = score_forecast(widened, actual, backtest.scales[i], origin)
            chosen = dataclasses.replace(rescored, predict_seconds=chosen.predict_seconds)
        spent = sum(fold.fit_seconds for folds_ in window.values() for fold in folds_)
        chosen_fit = backtest.scores[selection.chosen][i].fit_seconds
        results.append(dataclasses.replace(chosen, fit_seconds=spent + chosen_fit))
        selections.append(selection)
    return results, selections
