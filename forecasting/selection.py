"""The `auto` forecaster: combines the two models that did best on the series' recent backtests.

Rule: score every candidate (seasonal naive and the single models) by its mean scaled pinball
loss over the last `selection_folds` folds (two, or more at horizons under `SELECTION_STEPS`,
so that at least that many steps are scored: two one-step folds are two numbers, too few to
choose a model or fit a width on), and forecast the weighted average of the two lowest,
quantile by quantile (`combine_forecasts`), each weighted by 1 / its score squared (as Bates
and Granger weigh forecasts by their inverse error variance). A few folds rank models only
roughly, so betting on the single winner of two folds is fragile: averaging the two leaders
keeps most of the winner's gain when the ranking is right and limits the damage when it is
not, and the weights lean on the winner as far as its lead is clear.

This replaced an earlier rule (the lowest score, with seasonal naive and then the ensemble
preferred within 10 % of it) after both were replayed on every rolling fold (up to 20 per
trace) of the six development traces and of thirteen public NAB traces not shipped here:
averaged over traces, the average of two had lower MASE, lower pinball loss and coverage
closer to 90 % than the earlier rule on both sets. The lowest model alone had about the same
pinball loss and lower MASE on the NAB traces, but intervals further from 90 %. The cost of an
equal average showed where one model is nearly exact: on NAB's ec2_network_in_257a54, flat
after a level shift, seasonal naive's error was about a third of the average's. Weighting the
two by 1 / score squared, replayed on the same folds and on the robustness variants of
benchmarks/robustness.py, lowered both MASE and pinball loss against the equal average on
average over each set of traces (by 0.6 to 4 %), most where one model led clearly (that trace's
included), with coverage about as close to 90 %.
docs/benchmarks/forecasting.md ("How many models auto averages") compares 1, 2 and 3, and the
equal against the weighted average of 2, on the shipped traces.

The combination's intervals are then rescaled by one factor (`calibrate_width`, split
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
from forecasting.models.ensemble import ENSEMBLE_MEMBERS, Ensemble, combine_forecasts

SELECTION_FOLDS = 2
SELECTION_STEPS = 12  # fewest forecast steps selection and calibration look at
CRITERION = "pinball_scaled"
COMBINED = 2  # how many of the best-scoring candidates auto averages
WEIGHT_POWER = 2  # their weights: 1 / score ** WEIGHT_POWER (0: an equal average)
FALLBACK_MODEL = ENSEMBLE


@dataclass(frozen=True)
class Selection:
    """What `auto` forecasts with and why.

    Attributes:
        members: the models whose forecasts are averaged, best first (one when only one
            candidate could be scored, or on a fallback).
        reason: one human-readable sentence with the deciding numbers.
        scores: candidate -> mean criterion over the selection folds (NaN if it failed one).
        width_factor: how much the combined quantiles are spread around their median.
        weights: each member's weight in the average, summing to 1.
    """

    members: tuple[str, ...]
    reason: str
    scores: dict[str, float]
    width_factor: float = 1.0
    weights: tuple[float, ...] = (1.0,)

    @property
    def chosen(self) -> str:
        """The combination's name: its members joined by '+', e.g. 'lstm+seasonal_naive'."""
        return "+".join(self.members)


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
    combined: int = COMBINED,
    power: float = WEIGHT_POWER,
) -> Selection:
    """The `combined` candidates with the lowest mean `criterion` over the given folds.

    A candidate that refused any fold is not eligible; ties keep the candidates' order. The
    members are weighted by `combination_weights` of their scores.

    Raises:
        SeriesError: if every candidate refused a fold; the message carries their reasons.
    """
    means = {name: _mean_score(folds, criterion) for name, folds in scores.items()}
    eligible = {name: value for name, value in means.items() if math.isfinite(value)}
    if not eligible:
        errors = {name: next(s.error for s in f if s.error) for name, f in scores.items()}
        raise SeriesError(f"every model refused the series: {errors}")
    members = tuple(sorted(eligible, key=eligible.__getitem__)[:combined])
    weights = combination_weights([eligible[name] for name in members], power)
    folds = len(next(iter(scores.values())))
    scored = ", ".join(
        f"{name} {value:.3g}" if math.isfinite(value) else f"{name} refused"
        for name, value in means.items()
    )
    window = f"mean {criterion} over the last {folds} backtest folds of {horizon} steps"
    if len(members) == 1:
        why = f"{members[0]} alone, the only candidate scored on every {window}"
    else:
        names = ", ".join(members[:-1]) + f" and {members[-1]}"
        shares = "/".join(f"{w:.2f}" for w in weights)
        weighted = f" weighted {shares} (1 / score ** {power:g})" if power else ""
        why = f"the average of {names}{weighted}, the {len(members)} lowest {window}"
    return Selection(members, f"{why} ({scored})", means, weights=weights)


def combination_weights(scores: Sequence[float], power: float = WEIGHT_POWER) -> tuple[float, ...]:
    """Weights proportional to 1 / score ** power, summing to 1 (a score of 0 takes them all)."""
    inverse = 1 / np.maximum(np.asarray(scores, dtype=float), 1e-12) ** power
    return tuple(float(w) for w in inverse / inverse.sum())


def select_or_fall_back(
    scores: Mapping[str, Sequence[FoldScore]],
    *,
    horizon: int,
    criterion: str,
    fallback: str,
    combined: int = COMBINED,
    power: float = WEIGHT_POWER,
) -> Selection:
    """`select_model`, or `fallback` when every candidate refused a fold, with the reason."""
    try:
        return select_model(
            scores, horizon=horizon, criterion=criterion, combined=combined, power=power
        )
    except SeriesError:
        refusals = (s.error for folds in scores.values() for s in folds if s.error)
        refused = next(refusals, "no finite score")
        return Selection(
            (fallback,),
            f"{fallback} by default: every candidate refused a selection fold ({refused})",
            {},
        )


def _mean_score(folds: Sequence[FoldScore], criterion: str) -> float:
    if not folds or any(fold.error for fold in folds):
        return math.nan
    return float(np.mean([getattr(fold, criterion) for fold in folds]))


class AutoForecaster:
    """Backtests the candidates on the end of the series, then fits the best two on all of it.

    Fitting costs `folds + 1` fits of every candidate. A series too short for the selection
    folds gets `FALLBACK_MODEL` (the ensemble, or the first candidate), and the reason says so;
    so does one whose selection folds every candidate refused (their history was constant, say,
    before a service got its first requests), as there is nothing to select on. After `fit`,
    `selection_` says what was chosen and why, and `backtest_` holds the candidates' scores,
    and the ensemble's (None when the series was too short for them).
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
        """Select models from backtests on `y` (n,) and fit them on the whole series."""
        y = check_series(y)
        has_ensemble = set(ENSEMBLE_MEMBERS) <= set(self.candidates)
        fallback = FALLBACK_MODEL if has_ensemble else self.candidates[0]
        try:
            plan_origins(len(y), self.horizon, self.folds)
        except SeriesError as exc:
            self.selection_ = Selection((fallback,), f"{fallback} by default: {exc}", {})
            self.backtest_ = None
        else:
            backtest = run_backtest(
                y,
                [self._make(name) for name in self.candidates],
                interval_s=self.interval_s,
                horizon=self.horizon,
                folds=self.folds,
            )
            self.backtest_ = add_ensemble(backtest, y)
            selection = select_or_fall_back(
                candidate_scores(self.backtest_),
                horizon=self.horizon,
                criterion=self.criterion,
                fallback=fallback,
            )
            self.selection_ = calibrate_selection(selection, self.backtest_, y, range(self.folds))
        members = [self._make(name) for name in self.selection_.members]
        combination = None
        if len(members) > 1:
            combination = Ensemble(members, self.selection_.chosen, self.selection_.weights)
        self.model_ = (combination or members[0]).fit(y)
        return self

    def predict(self, h: int, quantiles: Sequence[float] = DEFAULT_QUANTILES) -> Forecast:
        """Forecast with the chosen models, the quantiles rescaled by the selection's factor."""
        levels = check_quantiles(quantiles)
        forecast = widen_forecast(
            self.model_.predict(h, check_quantiles([*levels, 0.5])), self.selection_.width_factor
        )
        return dataclasses.replace(forecast, quantiles={q: forecast.quantiles[q] for q in levels})

    def _make(self, name: str) -> Forecaster:
        return make_forecaster(name, interval_s=self.interval_s, seed=self.seed)


def candidate_scores(backtest: Backtest, folds: slice = slice(None)) -> dict[str, list[FoldScore]]:
    """The scores `auto` selects on: every model of `backtest` but the ensemble, at `folds`.

    The ensemble (itself an average of ETS, SARIMA and Prophet) stays out of the choice so
    that a combination never counts one model twice; it remains the fallback.
    """
    return {name: s[folds] for name, s in backtest.scores.items() if name != ENSEMBLE}


def combined_forecast(backtest: Backtest, selection: Selection, fold: int) -> Forecast | None:
    """The selection's weighted average of its members' forecasts at `fold` (None: one refused)."""
    found = [backtest.forecasts[name][fold] for name in selection.members]
    forecasts = [f for f in found if f is not None]
    if len(forecasts) < len(found):
        return None
    if len(forecasts) == 1:
        return forecasts[0]
    return combine_forecasts(forecasts, selection.weights)


def calibrate_selection(
    selection: Selection, backtest: Backtest, y: np.ndarray, folds: Sequence[int]
) -> Selection:
    """`selection` with the width factor fitted on its combined forecasts at `folds`."""
    forecasts = [combined_forecast(backtest, selection, i) for i in folds]
    if any(f is None for f in forecasts):
        return selection
    actuals = [y[backtest.origins[i] : backtest.origins[i] + backtest.horizon] for i in folds]
    factor = calibrate_width([f for f in forecasts if f is not None], actuals)
    note = "" if factor == 1 else f"; intervals x{factor:g} to cover >= 90 % of those folds"
    return dataclasses.replace(selection, reason=selection.reason + note, width_factor=factor)


def score_auto_folds(
    backtest: Backtest,
    y: np.ndarray,
    *,
    warmup: int,
    criterion: str = CRITERION,
    combined: int = COMBINED,
    power: float = WEIGHT_POWER,
) -> tuple[list[FoldScore], list[Selection]]:
    """What `AutoForecaster(folds=warmup)` scores on each backtest fold after the first `warmup`.

    `combined` and `power` other than `COMBINED` and `WEIGHT_POWER` replay the rule averaging
    that many models, or weighing them otherwise, instead (benchmarks/forecasting.py compares).

    `backtest` should hold the ensemble too (`add_ensemble`) when its members are candidates,
    as auto's fallback.

    The candidates' backtest already holds what auto would compute: with back-to-back folds,
    auto fitted at fold i's origin selects on folds i-warmup..i-1 and then forecasts exactly
    what its members forecast at fold i, averaged. Its fit time is counted in full: every
    candidate's fits on the selection folds plus its members' fits.
    """
    results, selections = [], []
    for i in range(warmup, len(backtest.origins)):
        window = candidate_scores(backtest, slice(i - warmup, i))
        fallback = FALLBACK_MODEL if FALLBACK_MODEL in backtest.scores else next(iter(window))
        selection = select_or_fall_back(
            window,
            horizon=backtest.horizon,
            criterion=criterion,
            fallback=fallback,
            combined=combined,
            power=power,
        )
        selection = calibrate_selection(selection, backtest, y, range(i - warmup, i))
        member_scores = [backtest.scores[name][i] for name in selection.members]
        chosen = next((s for s in member_scores if s.error), member_scores[0])
        forecast = combined_forecast(backtest, selection, i)
        if forecast is not None:
            origin = backtest.origins[i]
            actual = y[origin : origin + backtest.horizon]
            widened = widen_forecast(forecast, selection.width_factor)
            predict_s = sum(s.predict_seconds for s in member_scores)
            chosen = score_forecast(widened, actual, backtest.scales[i], origin, 0.0, predict_s)
        spent = sum(fold.fit_seconds for folds_ in window.values() for fold in folds_)
        members_fit = sum(s.fit_seconds for s in member_scores)
        results.append(dataclasses.replace(chosen, fit_seconds=spent + members_fit))
        selections.append(selection)
    return results, selections
