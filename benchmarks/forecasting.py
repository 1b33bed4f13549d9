"""Benchmark every forecaster, auto and statsforecast's AutoETS/AutoARIMA on data/traces.

Run from the repository root (statsforecast comes from requirements-bench.txt):

    .venv/bin/python -m benchmarks.forecasting

(As a module: run as a script, this file's own name would shadow the `forecasting` package.)
It writes docs/benchmarks/forecasting.md. Nothing in the document is typed by hand: every number
and every sentence of the summary is computed (the setups, backtests and auto's replays in
`benchmarks.forecasting_backtests`, the document in `benchmarks.forecasting_report`); this
module runs them on every trace and times the backtest and auto.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.forecasting_backtests import plan_setup, run_setup
from benchmarks.forecasting_report import OUTPUT, met, write_document
from forecasting.backtest import add_ensemble, run_backtest
from forecasting.models import all_forecasters
from forecasting.selection import AutoForecaster, selection_folds
from forecasting.trace import read_trace

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT / "data" / "traces"
TIMING_TRACE = "google_cluster2019_cpu_5min.csv"  # exactly 4 weeks: 672 hourly points
TIMING_RUNS = 3
TIMING_FOLDS = 5 + selection_folds(24)  # the CLI's default scored folds plus auto's warm-up


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
        f"{met(backtest_s < 60)}",
        f"- auto alone (select, calibrate, fit, predict {setup.horizon} h): {auto_s:.1f} s "
        f"(runs {auto_runs}); target < 10 s: {met(auto_s < 10)}",
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
