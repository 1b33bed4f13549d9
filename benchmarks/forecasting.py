"""Benchmark every forecaster, auto and statsforecast's AutoETS/AutoARIMA on data/traces.

Run from the repository root (statsforecast comes from requirements-bench.txt):

    .venv/bin/python -m benchmarks.forecasting

(As a module: run as a script, this file's own name would shadow the `forecasting` package.)
It writes docs/benchmarks/forecasting.md. Nothing in the document is typed by hand: every number
and every sentence of the summary is computed here.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
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
    AutoForecaster,
    score_auto_folds,
    selection_folds,
)
from forecasting.trace import Trace, read_trace

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT / "data" / "traces"
OUTPUT = ROOT / "docs" / "benchmarks" / "forecasting.md"
COMMAND = ".venv/bin/python -m benchmarks.forecasting"
MAX_FOLDS = 7
SHORT_HORIZON_S = 300  # five minutes for the hour-long per-second trace
PEERS = ("statsforecast_autoets", "statsforecast_autoarima")
TIMING_TRACE = "google_cluster2019_cpu_5min.csv"  # exactly 4 weeks: 672 hourly points
TIMING_RUNS = 3
TIMING_FOLDS = 5 + selection_folds(24)  # the CLI's default scored folds plus auto's warm-up
COLUMNS = ("mase", "smape", "coverage_90", "pinball_scaled", "fit_seconds", "predict_seconds")
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


def format_table(rows: dict[str, dict]) -> list[str]:
    """Markdown rows: model, MASE, sMAPE, coverage, scaled pinball, fit and predict seconds."""
    lines = [
        "| model | MASE | sMAPE % | coverage 90 % | pinball (scaled) | fit s | predict s |",
        "|---|---|---|---|---|---|---|",
    ]
    best = min(rows, key=lambda n: rows[n]["mase"] if rows[n]["mase"] is not None else np.inf)
    for name, row in rows.items():
        cells = [_cell(key, row[key]) for key in COLUMNS]
        if name == best:
            cells[0] = f"**{cells[0]}**"
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def _cell(key: str, value: float | None) -> str:
    if value is None:
        return "refused"
    if key in ("fit_seconds", "predict_seconds"):
        return f"{value:.2f}"
    if key == "smape":
        return f"{value:.1f}"
    return f"{value:.3f}"


def summarize_auto(results: dict[str, dict[str, dict]]) -> list[str]:
    """Sentences comparing auto with the best of our models and with the peers, per trace."""
    lines = []
    for label, rows in results.items():
        ours = {n: r["mase"] for n, r in rows.items() if n not in (*PEERS, "auto")}
        best = min(ours, key=lambda n: ours[n])
        auto = rows["auto"]["mase"]
        peers = [f"{p.split('_')[1]} {rows[p]['mase']:.3f}" for p in PEERS if p in rows]
        choices = ", ".join(sorted(set(rows["auto"]["choices"])))
        lines.append(
            f"- {label}: auto MASE {auto:.3f} (chose {choices}); best of ours {best} "
            f"{ours[best]:.3f}; seasonal naive {rows['seasonal_naive']['mase']:.3f}"
            + (f"; statsforecast {', '.join(peers)}" if peers else "")
        )
    return lines


def check_targets(results: dict[str, dict[str, dict]]) -> list[str]:
    """Table rows: per trace, each of auto's accuracy and coverage targets met or missed.

    Auto within 5 % of the best single model, at most 2 % above seasonal naive, and its 90 %
    interval covering 85-95 % of actuals.
    """
    lines = [
        "| trace | auto MASE | best single (hindsight) | within 5 % | seasonal naive "
        "| <= +2 % | auto coverage 90 % | 85-95 % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, rows in results.items():
        singles = {n: r["mase"] for n, r in rows.items() if n not in (*PEERS, "auto", ENSEMBLE)}
        best = min(singles, key=lambda n: singles[n])
        auto, naive = rows["auto"]["mase"], rows["seasonal_naive"]["mase"]
        coverage = rows["auto"]["coverage_90"]
        lines.append(
            f"| {label} | {auto:.3f} | {best} {singles[best]:.3f} "
            f"| {_met(auto <= 1.05 * singles[best])} | {naive:.3f} "
            f"| {_met(auto <= 1.02 * naive)} | {coverage:.3f} "
            f"| {_met(0.85 <= coverage <= 0.95)} |"
        )
    return lines


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def measure_timing() -> list[str]:
    """Median wall seconds of the all-models backtest and of auto alone on 4 weeks of hours."""
    trace = read_trace(TRACES / TIMING_TRACE)
    setup = plan_setup(trace, native=False)
    all_models, auto_alone = [], []
    for _ in range(TIMING_RUNS):
        started = time.perf_counter()
        result = run_backtest(
            setup.values,
            all_forecasters(interval_s=setup.interval_s)[:-1],
            interval_s=setup.interval_s,
            horizon=setup.horizon,
            folds=TIMING_FOLDS,
        )
        add_ensemble(result, setup.values)
        all_models.append(time.perf_counter() - started)
        started = time.perf_counter()
        auto = AutoForecaster(interval_s=setup.interval_s, horizon=setup.horizon).fit(setup.values)
        auto.predict(setup.horizon)
        auto_alone.append(time.perf_counter() - started)
    backtest_s, auto_s = float(np.median(all_models)), float(np.median(auto_alone))
    runs = ", ".join(f"{t:.1f}" for t in all_models)
    auto_runs = ", ".join(f"{t:.1f}" for t in auto_alone)
    return [
        f"On {TIMING_TRACE} at 1 h ({len(setup.values)} points, 4 weeks), median of "
        f"{TIMING_RUNS} runs on this machine:",
        "",
        f"- backtest of every model ({TIMING_FOLDS} folds of {setup.horizon} h, the CLI's "
        f"default with auto): {backtest_s:.1f} s (runs {runs}); target < 60 s: "
        f"{_met(backtest_s < 60)}",
        f"- auto alone (select, calibrate, fit, predict {setup.horizon} h): {auto_s:.1f} s "
        f"(runs {auto_runs}); target < 10 s: {_met(auto_s < 10)}",
    ]


def describe_machine() -> str:
    """CPU model and core count of this machine."""
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            ln.split(":", 1)[1].strip()
            for ln in cpuinfo.read_text().splitlines()
            if ln.startswith("model name")
        ]
        model = names[0] if names else model
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_document(
    setups: dict[str, Setup],
    results: dict[str, dict],
    native: dict[str, dict],
    combinations: dict[str, dict],
    timing: list[str],
    minutes: float,
) -> None:
    """Write docs/benchmarks/forecasting.md."""
    lines = [
        "# Forecasting benchmark",
        "",
        f"Reproduce: `pip install -r requirements-bench.txt`, then `{COMMAND}` from the "
        f"repository root. This run: {describe_machine()}; {minutes:.1f} minutes in all.",
        "",
        *METHOD,
        "",
        "## Summary (MASE, lower is better)",
        "",
        *summarize_auto(results),
        "",
        "## Targets (issue 3)",
        "",
        "Auto's MASE within 5 % of the best single model chosen in hindsight (the ensemble is",
        "not a single model), at most 2 % above seasonal naive, and its 90 % interval covering",
        "85-95 % of actuals, on each trace's scored folds:",
        "",
        *check_targets(results),
        "",
        "Timing (wall seconds, sharing the machine with whatever else ran):",
        "",
        *timing,
        "",
        *COMBINATIONS_INTRO,
        "",
        *format_combinations(combinations),
        "",
        *WINDOWS_INTRO,
        "",
        *format_windows(combinations),
        "",
    ]
    for label, rows in results.items():
        setup = setups[label]
        span = describe_seconds(setup.horizon * setup.interval_s)
        lines += [
            f"## {label}",
            "",
            f"Horizon {setup.horizon} steps ({span}), "
            f"{setup.folds} scored folds "
            f"(+{selection_folds(setup.horizon)} selection folds for auto), "
            f"{len(setup.values)} points. Auto chose, fold by fold: "
            f"{', '.join(rows['auto']['choices'])}.",
            "",
            *format_table(rows),
            "",
        ]
    lines += [*NATIVE_INTRO, ""]
    for label, rows in native.items():
        setup = setups[label]
        lines += [
            f"### {label}",
            "",
            f"Horizon {setup.horizon} steps (1 day), {setup.folds} scored folds.",
            "",
            *format_table(rows),
            "",
        ]
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text("\n".join(lines))


METHOD = [
    "## Method",
    "",
    "- Traces: every file in `data/traces` (real, public; see its README).",
    "- Step and horizon: traces of two days or more are scored on hourly means with a 24 h",
    "  horizon, the planning view (and the step the reference numbers in",
    "  `docs/cost-model.md` section 10 use); the hour-long per-second Azure LLM trace is scored",
    "  at its own 1 s step with a 5-minute horizon (300 steps), since nothing daily exists in it.",
    "- Folds: rolling origin, back to back, ending at the end of the trace; up to 7 scored",
    "  folds (fewer where the trace is short; each table says how many). Two more folds run",
    "  before them so that `auto`'s choice at every scored fold rests only on backtests it",
    "  could have run then (`score_auto_folds`, equal to refitting `AutoForecaster` there).",
    "- Scores, each the median over the scored folds except coverage (pooled over them):",
    "  MASE (mean absolute error of the mean forecast over the in-sample seasonal naive error,",
    "  daily season), sMAPE in percent, coverage of the 0.05-0.95 interval, pinball loss",
    "  averaged over the quantiles 0.05, 0.5, 0.9, 0.95, 0.99 and divided by the MASE scale,",
    "  fit and predict wall seconds (auto's fit counts every candidate's selection fits).",
    "- Peers: statsforecast's AutoETS and AutoARIMA with the daily season, same folds and",
    "  scores; AutoARIMA runs with `approximation=True` to stay near a second per fit (the",
    "  exact search took 46 s per fit on three weeks of hourly data here). Their quantiles are",
    "  read off their symmetric prediction intervals.",
    "- `ensemble` is the mean of ets, sarima and prophet. `auto` scores every single model",
    "  (seasonal naive included, the ensemble not) by its mean scaled pinball loss on the last",
    "  two folds and forecasts the average of the two lowest, quantile by quantile, each",
    "  weighted by 1 / its score squared; the average's intervals are rescaled by split",
    "  conformal calibration on those folds (see `forecasting/selection.py`). Why two, and",
    '  why weighted: see "How many models auto averages" below.',
    "- Repeatability: every figure but the times repeats exactly on one machine for the seed.",
    "  The LSTM's do not carry across CPUs: torch's CPU kernels differ between processors",
    "  (the same LSTM code gave MASE 0.972 on genai on an Intel Xeon and 0.932 on an AMD",
    "  EPYC), and auto follows the LSTM wherever it picks it.",
]

COMBINATIONS_INTRO = [
    "## How many models auto averages",
    "",
    "Medians of a few folds move by several percent when one fold is swapped, so the choice",
    "of rule was compared on as many folds as each trace allows (up to "
    f"{ABLATION_FOLDS} scored, after",
    "the same two selection folds; our models only): auto replayed averaging the 1, 2 or 3",
    "candidates with the lowest mean scaled pinball loss on the last two folds, weighted by",
    "1 / score squared (auto's rule) or alike, then calibrating the average's width on them.",
    "Each cell: median MASE / median scaled pinball",
    "/ pooled coverage of the 90 % interval. The next-to-last row is the geometric mean over",
    "traces of each rule's median MASE and pinball relative to seasonal naive's (lower is",
    "better), and the mean distance of its coverage from 0.90. Below it, how many of the",
    "three targets above (per trace: within 5 % of the best single model over these",
    "folds, at most 2 % above seasonal naive, coverage 85-95 %) each rule meets over these",
    "longer windows.",
]


def format_combinations(combinations: dict[str, dict]) -> list[str]:
    """The table comparing seasonal naive with auto averaging 1, 2 or 3 models."""
    names = ["seasonal_naive", *COMBINATIONS]
    header = ["seasonal naive", *COMBINATIONS.values()]
    lines = [
        "| trace | scored folds | " + " | ".join(header) + " |",
        "|---|---|" + "---|" * len(header),
    ]
    ratios: dict = {name: [] for name in names}
    met: dict = {name: 0 for name in names}
    for label, compared in combinations.items():
        rows = compared["rows"]
        naive = rows["seasonal_naive"]
        cells = []
        for name in names:
            row = rows[name]
            met[name] += sum(
                (
                    row["mase"] <= 1.05 * compared["best_single"],
                    row["mase"] <= 1.02 * naive["mase"],
                    0.85 <= row["coverage_90"] <= 0.95,
                )
            )
            cells.append(
                f"{row['mase']:.3f} / {row['pinball_scaled']:.3f} / {row['coverage_90']:.3f}"
            )
            ratios[name].append(
                (
                    row["mase"] / naive["mase"],
                    row["pinball_scaled"] / naive["pinball_scaled"],
                    abs(row["coverage_90"] - 0.9),
                )
            )
        lines.append(f"| {label} | {compared['folds']} | " + " | ".join(cells) + " |")
    summary = []
    for name in names:
        mase, pinball, off = np.array(ratios[name]).T
        gmean = lambda v: float(np.exp(np.mean(np.log(v))))  # noqa: E731
        summary.append(f"{gmean(mase):.3f} / {gmean(pinball):.3f} / ±{np.mean(off):.3f}")
    lines.append("| relative to seasonal naive | | " + " | ".join(summary) + " |")
    targets = [f"{met[name]} of {3 * len(combinations)}" for name in names]
    lines.append("| issue 3's targets met on these folds | | " + " | ".join(targets) + " |")
    return lines


WINDOWS_INTRO = [
    "## How noisy the targets are over 7 folds",
    "",
    f"The targets are judged on {MAX_FOLDS} folds, and which single model is best in hindsight",
    f"moves from one run of folds to the next. Over every window of {MAX_FOLDS} consecutive folds",
    "among the longer runs above: in how many is the single model that is best over the",
    "whole run (lowest median MASE over all its folds: a selector that knew it in advance)",
    "within 5 % of the best single model in that window's hindsight, in how many is auto,",
    "and in how many is auto at most 2 % above seasonal naive.",
]


def format_windows(combinations: dict[str, dict]) -> list[str]:
    """The table of `window_hits` per trace, and its totals."""
    lines = [
        f"| trace | windows of {MAX_FOLDS} folds | best single over the run "
        "| it is within 5 % | auto is within 5 % | auto is <= +2 % over seasonal naive |",
        "|---|---|---|---|---|---|",
    ]
    totals = dict.fromkeys(("count", "overall", "auto", "auto_naive"), 0)
    for label, compared in combinations.items():
        hits = compared["windows"]
        if not hits["count"]:
            lines.append(f"| {label} | 0 (too few folds) | | | | |")
            continue
        for key in totals:
            totals[key] += hits[key]
        lines.append(
            f"| {label} | {hits['count']} | {hits['model']} | {hits['overall']} "
            f"| {hits['auto']} | {hits['auto_naive']} |"
        )
    lines.append(
        f"| all | {totals['count']} | | {totals['overall']} | {totals['auto']} "
        f"| {totals['auto_naive']} |"
    )
    return lines


NATIVE_INTRO = [
    "## At the trace's own step",
    "",
    "The app forecasts at the trace's own interval: models fit hourly bucket means and spread",
    "them back over the minutes (`forecasting/resampling.py`). These tables score that path: one",
    "day ahead at 1 or 5 minutes, our models only (the peers would need the same mapping).",
]


def main() -> int:
    """Run every setup and write the document."""
    started = time.perf_counter()
    setups, results, native, combinations = {}, {}, {}, {}
    for path in sorted(TRACES.glob("*.csv")):
        trace = read_trace(path)
        for is_native in (False, True):
            if is_native and trace.duration_h < 48:
                continue
            setup = plan_setup(trace, native=is_native)
            print(f"{setup.label}: {setup.folds} folds of {setup.horizon}", file=sys.stderr)
            setups[setup.label] = setup
            rows, compared = run_setup(setup, with_peers=not is_native)
            (native if is_native else results)[setup.label] = rows
            if compared is not None:
                combinations[setup.label] = compared
    timing = measure_timing()
    minutes = (time.perf_counter() - started) / 60
    write_document(setups, results, native, combinations, timing, minutes)
    print(f"wrote {OUTPUT.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
