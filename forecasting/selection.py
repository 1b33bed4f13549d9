"""The `auto` forecaster: picks a model per series from its recent backtests, and says why.

Rule: score every candidate (seasonal naive, the single models and the ensemble, the mean of
ETS, SARIMA and Prophet) by its mean scaled pinball loss over the last `selection_folds`
folds (two, or more at horizons under `SELECTION_STEPS`, so that at least that many steps are
scored: two one-step folds are two numbers, too few to choose a model or fit a width on).
Candidates within `TOLERANCE` of the lowest score are treated as tied, since a few folds
cannot tell them apart; among them seasonal naive wins, then the ensemble, then the lowest.
So auto only leaves the baseline for a model that beat it clearly on this very series (which
bounds how much worse than seasonal naive it can do), and only leaves the combination (hard
to beat on average) for a clear single winner. 10 % stands for the noise between models'
scores on a couple of folds; it was preferred to 5 % after comparing both on the six
development traces (docs/benchmarks/forecasting.md), so it is not wholly untuned.

The chosen model's intervals are then rescaled by one factor (`calibrate_width`, split
conformal on the selection folds' steps) so that its 90 % intervals would have covered at
least 90 % of them, with the finite-sample margin.
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
SELECTION_STEPS = 12  # fewest forecast steps selection and calibration look at
CRITERION = "pinball_scaled"
TOLERANCE = 0.1  # candidates this close to the lowest score count as tied
# Among tied candidates: the baseline first, then the combination, then single models.
PREFERENCE = ("seasonal_naive", ENSEMBLE)
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


def selection_folds(horizon: int) -> int:
    """Folds `auto` selects on: `SELECTION_FOLDS`, or enough for `SELECTION_STEPS` steps.

    On hourly data one step ahead that is 12 folds, each a fit of every candidate, so a 1-step
    `auto` costs about four times a 24-step one. benchmarks/short_horizon.py replays 2 to 12
    one-step folds on four hourly traces (docs/benchmarks/short-horizon.md): with 2, the 90 %
    interval is fitted on two points and auto's choice rests on two errors.
    """
    return max(SELECTION_FOLDS, math.ceil(SELECTION_STEPS / horizon))


def select_model(
    scores: Mapping[str, Sequence[FoldScore]],
    *,
    horizon: int,
    criterion: str = CRITERION,
    tolerance: float = TOLERANCE,
) -> Selection:
    """Choose among candidates by their mean `criterion` over the given folds (lower wins).

    Every candidate within `tolerance` (a fraction) of the lowest mean is as good as the best
    on so few folds; among those the first in `PREFERENCE` wins (seasonal naive, then the
    ensemble, then the single models in the order given), and the best itself when none of
    them is preferred. A candidate that refused any fold is not eligible.

    Raises:
        SeriesError: if every candidate refused a fold; the message carries their reasons.
    """
    means = {name: _mean_score(folds, criterion) for name, folds in scores.items()}
    eligible = {name: value for name, value in means.items() if math.isfinite(value)}
    if not eligible:
        errors = {name: next(s.error for s in f if s.error) for name, f in scores.items()}
        raise SeriesError(f"every model refused the series: {errors}")
    best = min(eligible, key=eligible.__getitem__)
    order = [*PREFERENCE, *(name for name in scores if name not in PREFERENCE)]
    rank = {name: i for i, name in enumerate(order)}
    close = [n for n in eligible if eligible[n] <= (1 + tolerance) * eligible[best]]
    chosen = min(close, key=lambda n: (rank[n], eligible[n]))
    folds = len(next(iter(scores.values())))
    scored = ", ".join(
        f"{name} {value:.3g}" if math.isfinite(value) else f"{name} refused"
        for name, value in means.items()
    )
    window = f"mean {criterion} over the last {folds} backtest folds of {horizon} steps"
    if chosen == best:
        why = f"{chosen} had the lowest {window}"
    else:
        why = (
            f"{chosen} was within {tolerance:.0%} of the lowest ({best}) on {window} "
            f"and is preferred as the simpler or more robust model"
        )
    return Selection(chosen, f"{why} ({scored})", means)


def select_or_fall_back(
    scores: Mapping[str, Sequence[FoldScore]], *, horizon: int, criterion: str, fallback: str
) -> Selection:
    """`select_model`, or `fallback` when every candidate refused a fold, with the reason."""
    try:
        return select_model(scores, horizon=horizon, criterion=criterion)
    except SeriesError:
        refused = next((s.error for s in scores[fallback] if s.error), "no finite score")
        return Selection(
            fallback,
            f"{fallback} by default: every candidate refused a selection fold ({refused})",
            {},
        )


def _mean_score(folds: Sequence[FoldScore], criterion: str) -> float:
    if not folds or any(fold.error for fold in folds):
        return math.nan
    return float(np.mean([getattr(fold, criterion) for fold in folds]))


class AutoForecaster:
    """Backtests the candidates on the end of the series, then fits the best on all of it.

    Fitting costs `folds + 1` fits of every candidate; the ensemble is scored from its members'
    backtests when they are all candidates. A series too short for the selection folds gets
    `FALLBACK_MODEL` (the ensemble, or the first candidate), and the reason says so; so does one
    whose selection folds every candidate refused (their history was constant, say, before a
    service got its first requests), as there is nothing to select on. After `fit`,
    `selection_` says what was chosen and why, and `backtest_` holds the candidates' scores
    (None when the series was too short for them).
    """

    name = "auto"

    def __init__(
        self,
        *,
        interval_s: int,
        horizon: int,
        candidates: Sequence[str] = MODEL_NAMES,
        folds: int | None = None,
        seed: int = 0,
        criterion: str = CRITERION,
    ) -> None:
        self.interval_s = interval_s
        self.horizon = horizon
        self.candidates = tuple(candidates)
        self.folds = selection_folds(horizon) if folds is None else folds
        self.seed = seed
        self.criterion = criterion

    def fit(self, y: np.ndarray) -> Self:
        """Select a model from backtests on `y` (n,) and fit it on the whole series."""
        y = check_series(y)
        fallback = FALLBACK_MODEL if self._has_ensemble() else self.candidates[0]
        try:
            plan_origins(len(y), self.horizon, self.folds)
        except SeriesError as exc:
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
            selection = select_or_fall_back(
                self.backtest_.scores,
                horizon=self.horizon,
                criterion=self.criterion,
                fallback=fallback,
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
        return dataclasses.replace(forecast, quantiles={q: forecast.quantiles[q] for q in levels})

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
    note = "" if factor == 1 else f"; intervals x{factor:g} to cover >= 90 % of those folds"
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
        fallback = FALLBACK_MODEL if FALLBACK_MODEL in window else next(iter(window))
        selection = select_or_fall_back(
            window, horizon=backtest.horizon, criterion=criterion, fallback=fallback
        )
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
