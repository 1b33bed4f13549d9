"""How many folds `auto` selects on one step ahead; writes docs/benchmarks/short-horizon.md.

Run from the repository root:

    .venv/bin/python -m benchmarks.short_horizon

`forecasting.selection.selection_folds` gives `auto` two folds, or enough of them to score at
least `SELECTION_STEPS` steps when the horizon is shorter. This replays that choice: every
model is backtested one step ahead on the last `FOLDS` hours of four hourly variants of the
real traces (built as in `benchmarks.robustness`), and auto is scored on the last `SCORED`
folds as if it had selected (and fitted its interval width) on the 2, 4, 6 or 12 folds before
each, exactly as `score_auto_folds` does for the CLI. One-step folds are single points, so
the scores are means over the scored folds (MASE, and the share of actuals inside the 90 %
interval), not medians.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

from benchmarks.robustness import VARIANTS
from forecasting.backtest import add_ensemble, run_backtest
from forecasting.models import all_forecasters
from forecasting.selection import score_auto_folds

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "benchmarks" / "short-horizon.md"
COMMAND = ".venv/bin/python -m benchmarks.short_horizon"
TRACES = ("nasa_1h", "avm_1h", "genai_1h", "cluster_shift")
SELECTION = (2, 4, 6, 12)
SCORED = 20
FOLDS = SCORED + max(SELECTION)
HORIZON = 1


def mean_of(scores, field: str) -> float:
    """The mean of `field` over the folds a model did not refuse."""
    return float(np.nanmean([getattr(s, field) for s in scores]))


def main() -> int:
    """Backtest each trace once, replay auto with each fold count, write the document."""
    builds = {name: build for name, _, build in VARIANTS}
    header = ["| trace | " + " | ".join(f"auto, {k} folds" for k in SELECTION)]
    header[0] += " | seasonal naive | best model in hindsight |"
    lines = [
        "# auto one step ahead: how many folds to select on",
        "",
        f"Command: `{COMMAND}` (seed 0). Machine: {platform.machine()}, {os.cpu_count()} "
        f"cores, Python {platform.python_version()}. Every model backtested {HORIZON} step "
        f"ahead on the last {FOLDS} hours of each hourly variant (see benchmarks/robustness.py); "
        f"auto scored on the last {SCORED} of them, selecting and fitting its width on the "
        "2, 4, 6 or 12 folds before each. Cells: mean MASE / coverage of the 90 % interval "
        "over those folds. The shipped rule (`selection_folds`) uses 12 one step ahead. "
        f"{SCORED} one-step folds are few points: read the direction, not the third decimal.",
        "",
        header[0],
        "|---|" + "---|" * (len(SELECTION) + 2),
    ]
    for name in TRACES:
        trace = builds[name]()
        started = time.perf_counter()
        models = all_forecasters(interval_s=trace.interval_s)[:-1]  # the ensemble is derived
        backtest = run_backtest(
            trace.values, models, interval_s=trace.interval_s, horizon=HORIZON, folds=FOLDS
        )
        backtest = add_ensemble(backtest, trace.values)
        cells = []
        for folds in SELECTION:
            scores, _ = score_auto_folds(backtest.last(SCORED + folds), trace.values, warmup=folds)
            cells.append(f"{mean_of(scores, 'mase'):.3f} / {mean_of(scores, 'coverage_90'):.2f}")
        singles = {m: mean_of(s[-SCORED:], "mase") for m, s in backtest.scores.items()}
        best = min(singles, key=singles.__getitem__)
        lines.append(
            f"| {name} | {' | '.join(cells)} | {singles['seasonal_naive']:.3f} "
            f"| {best} {singles[best]:.3f} |"
        )
        print(name, f"{time.perf_counter() - started:.0f} s", flush=True)
    OUTPUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
