"""What the forecasting benchmark runs: each trace's setup, the backtests, auto's replays.

`plan_setup` picks a trace's step, horizon and folds; `run_setup` backtests our models and
statsforecast's AutoETS/AutoARIMA (`StatsforecastPeer`) on it and replays auto over the folds;
`compare_combinations` replays auto averaging 1, 2 or 3 models over as many folds as it can.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
from statsforecast.models import AutoARIMA, AutoETS

from forecasting.backtest import (
    Backtest,
    add_ensemble,
    max_folds,
    run_backtest,
    summarize_scores,
)
from forecasting.base import DEFAULT_QUANTILES, Forecast, build_forecast, check_series
from forecasting.models import ENSEMBLE, all_forecasters
from forecasting.seasonality import DAY_S, HOUR_S, aggregate_series, plan_seasons
from forecasting.selection import (
    COMBINED,
    WEIGHT_POWER,
    score_auto_folds,
    selection_folds,
)
from forecasting.trace import Trace

MAX_FOLDS = 7
SHORT_HORIZON_S = 300  # five minutes for the hour-long per-second trace
PEERS = ("statsforecast_autoets", "statsforecast_autoarima")
ABLATION_FOLDS = 20  # scored folds, at most, when comparing how many models auto averages
COMBINATIONS = {  # (models averaged, weight power) -> column
    (1, 2): "lowest alone",
    (2, 0): "equal average of 2",
    (2, 2): "weighted average of 2 (auto)",
    (3, 2): "weighted average of 3",
}


class StatsforecastPeer:
    """statsforecast's AutoETS or AutoARIMA behind our `Forecaster` interface."""

    def __init__(self, name: str, season_length: int) -> None:
        self.name = name
        self.season_length = season_length

    def fit(self, y: np.ndarray) -> Self:
        """Fit the statsforecast model on `y` (n,)."""
        y = check_series(y)
        m = self.season_length if len(y) >= 2 * self.season_length + 2 else 1
        if self.name == "statsforecast_autoets":
            model = AutoETS(season_length=m)
        else:
            # approximation=True (R's default for long series) takes ~1 s per fit here; the
            # exact search took 46 s per fit on 3 weeks of hourly data on this machine.
            model = AutoARIMA(season_length=m, approximation=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model_ = model.fit(y)
        return self

    def predict(self, h: int, quantiles: Sequence[float] = DEFAULT_QUANTILES) -> Forecast:
        """Mean and the quantiles read off statsforecast's symmetric prediction levels."""
        levels = sorted({interval_level(q) for q in quantiles if q != 0.5})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = self.model_.predict(h, level=levels) if levels else self.model_.predict(h)
        mean = np.asarray(out["mean"], dtype=float)
        table = {}
        for q in quantiles:
            key = "mean" if q == 0.5 else f"{'lo' if q < 0.5 else 'hi'}-{interval_level(q)}"
            table[q] = np.asarray(out[key], dtype=float)
        return build_forecast(mean, table)


def interval_level(q: float) -> int | float:
    """The central interval (percent) whose bound is quantile `q`: 0.05 and 0.95 -> 90."""
    level = round(100 * abs(1 - 2 * q), 6)
    return int(level) if level.is_integer() else level


@dataclass(frozen=True)
class Setup:
    """How one trace is benchmarked: at which step, horizon and number of folds."""

    trace: Trace
    values: np.ndarray
    interval_s: int
    horizon: int
    folds: int

    @property
    def label(self) -> str:
        """The trace name and the step it is scored at."""
        return f"{self.trace.name} @ {describe_seconds(self.interval_s)}"


def describe_seconds(seconds: int) -> str:
    """'1 h', '5 min' or '10 s'."""
    if seconds % HOUR_S == 0:
        return f"{seconds // HOUR_S} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def plan_setup(trace: Trace, *, native: bool) -> Setup:
    """Choose the step, horizon and folds for one trace.

    Traces of >= 2 days: hourly means, 24 h ahead (`native=True`: their own step, one day
    ahead). Shorter traces: their own step, five minutes ahead.
    """
    long = trace.duration_h >= 48
    if long and not native:
        factor = HOUR_S // trace.interval_s
        values, interval_s, horizon = aggregate_series(trace.values, factor), HOUR_S, 24
    elif long:
        values, interval_s = trace.values, trace.interval_s
        horizon = DAY_S // trace.interval_s
    else:
        values, interval_s = trace.values, trace.interval_s
        horizon = SHORT_HORIZON_S // trace.interval_s
    room = max_folds(len(values), horizon) - selection_folds(horizon)
    return Setup(trace, values, interval_s, horizon, max(1, min(MAX_FOLDS, room)))


def run_setup(setup: Setup, with_peers: bool) -> tuple[dict[str, dict], dict | None]:
    """Backtest our models (and the peers) and derive auto; medians per model.

    Also returns the comparison of how many models auto averages (`compare_combinations`;
    None without the peers). With the peers (the hourly setups), our models also run on up
    to `ABLATION_FOLDS` earlier folds for that comparison; the tables use the last folds only.
    """
    ours = all_forecasters(interval_s=setup.interval_s)[:-1]  # the ensemble is derived below
    warmup = selection_folds(setup.horizon)
    folds = setup.folds + warmup
    room = max_folds(len(setup.values), setup.horizon)
    extended = max(folds, min(ABLATION_FOLDS + warmup, room)) if with_peers else folds
    kwargs = {"interval_s": setup.interval_s, "horizon": setup.horizon}
    ours_all = run_backtest(setup.values, ours, folds=extended, **kwargs)
    ours_all = add_ensemble(ours_all, setup.values)
    result = ours_all.last(folds)
    if with_peers:
        season = plan_seasons(setup.interval_s, setup.values).native_season
        peers = [StatsforecastPeer(name, season) for name in PEERS]
        peer_result = run_backtest(setup.values, peers, folds=folds, **kwargs)
        result = dataclasses.replace(
            result,
            scores={**result.scores, **peer_result.scores},
            forecasts={**result.forecasts, **peer_result.forecasts},
        )
    rows = {name: summarize_scores(s[warmup:]) for name, s in result.scores.items()}
    candidates = only_models(result, [f.name for f in ours] + [ENSEMBLE])
    auto_scores, selections = score_auto_folds(candidates, setup.values, warmup=warmup)
    rows["auto"] = summarize_scores(auto_scores)
    rows["auto"]["choices"] = [s.chosen for s in selections]
    combinations = compare_combinations(ours_all, setup.values, warmup) if with_peers else None
    return rows, combinations


def compare_combinations(backtest: Backtest, y: np.ndarray, warmup: int) -> dict:
    """Seasonal naive and auto averaging 1, 2 or 3 models, over every fold after `warmup`."""
    singles = {n: summarize_scores(s[warmup:])["mase"] for n, s in backtest.scores.items()}
    singles.pop(ENSEMBLE, None)
    rows = {"seasonal_naive": summarize_scores(backtest.scores["seasonal_naive"][warmup:])}
    replays = {}
    for combined, power in COMBINATIONS:
        scores, _ = score_auto_folds(backtest, y, warmup=warmup, combined=combined, power=power)
        rows[combined, power] = summarize_scores(scores)
        replays[combined, power] = [s.mase for s in scores]
    best = min((name for name, v in singles.items() if v is not None), key=singles.__getitem__)
    auto = replays[COMBINED, WEIGHT_POWER]
    return {
        "folds": len(backtest.origins) - warmup,
        "rows": rows,
        "best_single": singles[best],
        "windows": window_hits(backtest, auto, warmup, best),
    }


def window_hits(backtest: Backtest, auto_mase: Sequence[float], warmup: int, overall: str) -> dict:
    """How often the within-5 % target holds on windows of `MAX_FOLDS` consecutive folds.

    For every such window among the scored folds: is the median MASE of (a) `overall`, the
    single model with the lowest median MASE over all of them, (b) auto, within 5 % of the
    lowest median MASE any single model had on that window (the best single model in that
    window's hindsight)? And is auto's at most 2 % above seasonal naive's there?
    """
    singles = {
        name: np.array([s.mase for s in folds[warmup:]])
        for name, folds in backtest.scores.items()
        if name != ENSEMBLE
    }
    auto = np.asarray(auto_mase, dtype=float)
    hits = {"overall": 0, "auto": 0, "auto_naive": 0}
    count = max(0, len(auto) - MAX_FOLDS + 1)
    for start in range(count):
        window = slice(start, start + MAX_FOLDS)
        medians = {name: np.nanmedian(mase[window]) for name, mase in singles.items()}
        best = min(medians.values())
        auto_median = np.nanmedian(auto[window])
        hits["overall"] += medians[overall] <= 1.05 * best
        hits["auto"] += auto_median <= 1.05 * best
        hits["auto_naive"] += auto_median <= 1.02 * medians["seasonal_naive"]
    return {"count": count, "model": overall, **hits}


def only_models(result: Backtest, names: Sequence[str]) -> Backtest:
    """The backtest restricted to `names`."""
    return dataclasses.replace(
        result,
        scores={n: result.scores[n] for n in names},
        forecasts={n: result.forecasts[n] for n in names},
    )
