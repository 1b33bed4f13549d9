"""Command line: `python -m simulation compare --trace FILE ... --json OUT`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from forecasting.progress import progress_bar
from policies.scenario import load_scenario
from simulation.compare import POLICY_NAMES, compare_policies
from simulation.trace import load_trace


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser."""
    parser = argparse.ArgumentParser(prog="python -m simulation")
    sub = parser.add_subparsers(dest="command", required=True)
    compare = sub.add_parser("compare", help="replay policies over a trace, write metrics JSON")
    compare.add_argument("--trace", required=True, help="CSV with header timestamp,value")
    compare.add_argument("--peak-rps", type=float, default=None, help="scale the peak to this")
    compare.add_argument("--seed", type=int, default=0)
    compare.add_argument(
        "--policies",
        default=",".join(POLICY_NAMES),
        help="comma-separated names (default: every policy; the references, rate_oracle and "
        "trailing_rate, if named)",
    )
    compare.add_argument("--scenario", default=None, help="JSON file overriding scenario fields")
    compare.add_argument("--step-s", type=int, default=None, help="cluster step (default 60)")
    compare.add_argument("--json", required=True, help="output file, or - for stdout")
    return parser


def run_compare(
    args: argparse.Namespace, progress: Callable[[float], None] | None = None
) -> dict[str, Any]:
    """Load the inputs, replay, return the JSON document; `progress` as `compare_policies`'."""
    overrides = {}
    if args.peak_rps is not None:
        overrides["peak_rps"] = args.peak_rps
    if args.step_s is not None:
        overrides["step_s"] = args.step_s
    scenario = load_scenario(args.scenario, **overrides)
    if not Path(args.trace).is_file():
        raise ValueError(f"--trace {args.trace}: no such file")
    load = load_trace(args.trace, step_s=scenario.step_s, peak_rps=scenario.peak_rps)
    names = [p.strip() for p in args.policies.split(",") if p.strip()]
    if not names:
        raise ValueError("--policies: name at least one policy")
    return compare_policies(load, scenario, names, seed=args.seed, progress=progress)


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit 2 with a one-line message on bad input."""
    args = build_parser().parse_args(argv)
    try:
        with progress_bar("replay") as progress:  # on a terminal only
            result = run_compare(args, progress)
    except (ValueError, KeyError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(result, indent=2, allow_nan=False)
    if args.json == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
