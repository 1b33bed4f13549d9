"""Command line: `python -m optimization bench|solve|example ... --json OUT` (OUT may be `-`)."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from optimization.exact import solve_milp
from optimization.gapso import solve_gapso
from optimization.layout import InfeasibleProblem
from optimization.pareto import knee_point, pareto_front
from optimization.problem import AllocationProblem, problem_from_dict, problem_to_dict
from optimization.solver import METHODS, solve
from optimization.suite import BENCH_SPECS, bench_suite, generate_problem


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the three commands."""
    parser = argparse.ArgumentParser(prog="python -m optimization")
    commands = parser.add_subparsers(dest="command", required=True)
    bench = commands.add_parser("bench", help="GA-PSO against the exact MILP on the bench suite")
    bench.add_argument("--json", required=True, help="output file, or - for stdout")
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument("--time-limit", type=float, default=60.0, help="MILP limit, seconds")
    bench.add_argument("--backend", default="auto", choices=["auto", "numpy", "torch"])
    run = commands.add_parser("solve", help="solve one problem file")
    run.add_argument("--problem", required=True, help="problem JSON file")
    run.add_argument("--json", required=True, help="output file, or - for stdout")
    run.add_argument("--method", default="gapso", choices=METHODS)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--time-limit", type=float, default=None)
    run.add_argument("--backend", default="auto", choices=["auto", "numpy", "torch"])
    run.add_argument("--pareto", action="store_true", help="add the cost/SLA-risk front")
    example = commands.add_parser("example", help="write a bench problem as a problem file")
    example.add_argument("--name", default="large-24x40x3", choices=sorted(BENCH_SPECS))
    example.add_argument("--json", required=True, help="output file, or - for stdout")
    return parser


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """Solve every bench instance exactly and with GA-PSO; gaps are relative to the MILP."""
    rows: list[dict[str, Any]] = []
    # A bar of the instances solved on stderr, drawn only when stderr is a terminal.
    for problem in tqdm(bench_suite(), desc="bench", unit="problem", file=sys.stderr, disable=None):
        exact = solve_milp(problem, time_limit_s=args.time_limit)
        heuristic = solve_gapso(problem, seed=args.seed, backend=args.backend)
        rows.append(
            {
                "name": problem.name,
                "exact_cost": exact.cost_usd,
                "gapso_cost": heuristic.cost_usd,
                "gap": (heuristic.cost_usd - exact.cost_usd) / exact.cost_usd,
                "gapso_seconds": heuristic.seconds,
                "exact_seconds": exact.seconds,
                "exact_status": exact.status,
                "exact_bound": exact.bound_usd,
                "gapso_feasible": heuristic.feasible,
                "gapso_evaluations": heuristic.evaluations,
            }
        )
    gaps = [row["gap"] for row in rows]
    return {"instances": rows, "median_gap": statistics.median(gaps), "max_gap": max(gaps)}


def run_solve(args: argparse.Namespace) -> dict[str, Any]:
    """Read, validate and solve one problem file."""
    path = Path(args.problem)
    if not path.is_file():
        raise ValueError(f"--problem: no such file {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"--problem: {path} is not valid JSON ({exc})") from None
    problem = problem_from_dict(data)
    options = {"seed": args.seed, "time_limit_s": args.time_limit}
    solution = solve(problem, method=args.method, backend=args.backend, **options)
    result: dict[str, Any] = {"solution": solution.to_dict()}
    if args.pareto:
        front = pareto_front(problem, **options)
        result["pareto"] = [point.to_dict() for point in front]
        result["knee_index"] = front.index(knee_point(front))
    return result


def write_json(payload: dict[str, Any], target: str) -> None:
    """Write `payload` to `target`, or stdout for `-`."""
    text = json.dumps(payload, indent=2, allow_nan=False)
    if target == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(target).write_text(text + "\n")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; bad input and infeasible problems exit 2 with the cause on stderr."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "bench":
            payload = run_bench(args)
        elif args.command == "solve":
            payload = run_solve(args)
        else:
            payload = problem_to_dict(generate_problem_by_name(args.name))
        write_json(payload, args.json)
    except InfeasibleProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def generate_problem_by_name(name: str) -> AllocationProblem:
    """The bench instance called `name`."""
    t, o, v, seed, extra = BENCH_SPECS[name]
    return generate_problem(name, n_intervals=t, n_offers=o, n_variants=v, seed=seed, **extra)


if __name__ == "__main__":
    sys.exit(main())
