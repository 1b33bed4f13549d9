"""Command line: `python -m forecasting backtest --trace FILE --horizon H --json OUT`."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from forecasting.backtest import (
    BACKTEST_QUANTILES,
    add_ensemble,
    run_backtest,
    summarize_scores,
)
from forecasting.base import MIN_POINTS, SeriesError
from forecasting.models import MODEL_NAMES, make_forecaster
from forecasting.progress import progress_bar
from forecasting.seasonality import plan_seasons
from forecasting.selection import score_auto_folds, selection_folds
from forecasting.trace import TraceError, read_trace

DEFAULT_FOLDS = 5


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for `python -m forecasting`."""
    parser = argparse.ArgumentParser(prog="python -m forecasting", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    backtest = commands.add_parser("backtest", help="rolling-origin backtest of the models")
    backtest.add_argument("--trace", required=True, type=Path, help="CSV with timestamp,value")
    backtest.add_argument("--horizon", required=True, type=int, help="steps forecast per fold")
    backtest.add_argument(
        "--models",
        default=",".join([*MODEL_NAMES, "auto"]),
        help=f"comma-separated, from {', '.join(MODEL_NAMES)}, auto (default: all)",
    )
    backtest.add_argument("--folds", type=int, default=DEFAULT_FOLDS, help="folds scored")
    backtest.add_argument("--seed", type=int, default=0, help="seed for the LSTM and sampling")
    backtest.add_argument("--json", required=True, help="output path, or - for stdout")
    return parser


def parse_models(raw: str) -> tuple[list[str], bool]:
    """(the models to backtest, whether `auto` was asked for); auto alone backtests all."""
    names = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = sorted(set(names) - {*MODEL_NAMES, "auto"})
    if unknown or not names:
        raise ValueError(
            f"unknown models {unknown or raw!r}; choose from {', '.join(MODEL_NAMES)}, auto"
        )
    models = [name for name in MODEL_NAMES if name in names]
    return models or list(MODEL_NAMES), "auto" in names


def backtest_trace(
    path: Path,
    *,
    horizon: int,
    models: Sequence[str],
    auto: bool,
    folds: int,
    seed: int,
    progress: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Backtest `models` (and auto over them) on the trace at `path`; the JSON report.

    The ensemble is reported too whenever its members (ets, sarima, prophet) are backtested;
    it costs no extra fits. With auto, `selection_folds(horizon)` extra folds run before the scored
    ones, so that auto's choice at every scored fold rests on backtests it could have run then.
    `progress` is told the fraction of the model fits done (`run_backtest`).
    """
    if folds < 1:
        raise ValueError(f"--folds must be >= 1, got {folds}")
    trace = read_trace(path)
    warmup = selection_folds(horizon) if auto else 0
    needed = max(MIN_POINTS, horizon) + (folds + warmup) * horizon
    if len(trace) < needed:
        extra = f" (plus {warmup} for auto's selection)" if warmup else ""
        raise SeriesError(
            f"the trace has {len(trace)} points; {folds} folds{extra} of {horizon} steps need "
            f"at least {needed}: max({MIN_POINTS}, horizon) of history + folds x horizon"
        )
    forecasters = [make_forecaster(n, interval_s=trace.interval_s, seed=seed) for n in models]
    result = run_backtest(
        trace.values,
        forecasters,
        interval_s=trace.interval_s,
        horizon=horizon,
        folds=folds + warmup,
        progress=progress,
    )
    result = add_ensemble(result, trace.values)
    plan = plan_seasons(trace.interval_s, trace.values)
    report: dict[str, Any] = {
        "trace": trace.name,
        "interval_s": trace.interval_s,
        "filled_intervals": trace.filled,
        "regridded_rows": trace.regridded,
        "horizon": horizon,
        "folds": folds,
        "seed": seed,
        "quantiles": list(BACKTEST_QUANTILES),
        "step_s": plan.step_s,
        "season_lengths": [s * plan.factor for s in plan.seasons],
        "models": {
            name: summarize_model(scores[warmup:]) for name, scores in result.scores.items()
        },
    }
    if auto:
        scores, selections = score_auto_folds(result, trace.values, warmup=warmup)
        report["auto"] = {
            "chosen": selections[-1].chosen,
            **summarize_scores(scores),
            "choices": [s.chosen for s in selections],
            "weights": [list(s.weights) for s in selections],
            "width_factors": [s.width_factor for s in selections],
            "reason": selections[-1].reason,
        }
    return report


def summarize_model(scores: Sequence[Any]) -> dict[str, Any]:
    """Median scores over folds, plus how many folds the model refused and why."""
    refused = [s.error for s in scores if s.error]
    return {**summarize_scores(scores), "folds_refused": len(refused), "errors": refused[:1]}


def write_report(report: dict[str, Any], destination: str) -> None:
    """Write `report` as JSON to a path or, for '-', to stdout; NaN never appears."""
    text = json.dumps(_finite(report), indent=2, allow_nan=False) + "\n"
    if destination == "-":
        sys.stdout.write(text)
    else:
        Path(destination).write_text(text)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; exit status 2 with a message on stderr for bad input."""
    args = build_parser().parse_args(argv)
    try:
        models, auto = parse_models(args.models)
        with progress_bar("backtest") as progress:  # on a terminal only
            report = backtest_trace(
                args.trace,
                horizon=args.horizon,
                models=models,
                auto=auto,
                folds=args.folds,
                seed=args.seed,
                progress=progress,
            )
        write_report(report, args.json)
    except (TraceError, SeriesError, ValueError, OSError) as exc:
        print(f"python -m forecasting: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
