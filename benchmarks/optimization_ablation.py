"""Ablation of the GA-PSO: LP seeding and repair alone against GA only, PSO only and both.

Run from the repository root:

    .venv/bin/python -m benchmarks.optimization_ablation

It writes the "ablation" section of docs/benchmarks/optimization.md (benchmarks/optimization_doc.py)
and leaves the rest of that document alone; every number in the section is computed here. The
problems are those of benchmarks/optimization.py (optimization.suite.bench_suite), solved once
with their own cost-only objective and once with the default cost + SLA weights. Every arm is a
GAPSOConfig of the unchanged solver: for one seed all arms start from the same repaired
population (the seeding draws come first from the run's Generator), so arms compare paired.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import statistics
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks.optimization_doc import DOCUMENT, write_section
from optimization.exact import solve_milp
from optimization.gapso import GAPSOConfig, solve_gapso
from optimization.problem import AllocationProblem, Weights
from optimization.solution import Solution
from optimization.suite import bench_suite

ROOT = Path(__file__).resolve().parents[1]
SECTION = "ablation"
COMMAND = ".venv/bin/python -m benchmarks.optimization_ablation"
SEEDS = tuple(range(10))
MILP_LIMIT_S = 60.0  # as benchmarks/optimization.py
DEFAULT = GAPSOConfig()
SEARCH_GENERATIONS = DEFAULT.ga_generations + DEFAULT.pso_iterations  # 50: equal budgets

# name: (config, what it is). GA only and PSO only get the full run's evaluation budget.
ARMS: dict[str, tuple[GAPSOConfig, str]] = {
    "seed + repair": (
        GAPSOConfig(ga_generations=0, pso_iterations=0),
        "`ga_generations=0, pso_iterations=0`: the 48 LP-rounded starting allocations, repaired "
        "and trimmed; the best of them (48 evaluations)",
    ),
    "GA only": (
        GAPSOConfig(ga_generations=SEARCH_GENERATIONS, pso_iterations=0),
        f"`ga_generations={SEARCH_GENERATIONS}, pso_iterations=0`: roulette, crossover, "
        "mutation and ruin, repair, elitism",
    ),
    "PSO only": (
        GAPSOConfig(ga_generations=0, pso_iterations=SEARCH_GENERATIONS),
        f"`ga_generations=0, pso_iterations={SEARCH_GENERATIONS}`: the swarm flies from the "
        "repaired starting population",
    ),
    "GA-PSO": (
        DEFAULT,
        f"`GAPSOConfig()`, the default: `ga_generations={DEFAULT.ga_generations}, "
        f"pso_iterations={DEFAULT.pso_iterations}`",
    ),
}
BASELINE = "seed + repair"
OBJECTIVES: dict[str, Weights] = {"cost": Weights.cost_only(), "cost + SLA": Weights()}


@dataclass
class Runs:
    """One arm on one problem, a list entry per seed."""

    objective_usd: list[float] = field(default_factory=list)
    cost_usd: list[float] = field(default_factory=list)
    sla_violation_rate: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    evaluations: int = 0

    def add(self, found: Solution) -> None:
        """Record one seed's result."""
        if not found.feasible:  # repair guarantees feasibility; a break here must show
            raise AssertionError(f"{found.problem_name}: infeasible result for seed {found.seed}")
        self.objective_usd.append(found.objective_usd)
        self.cost_usd.append(found.cost_usd)
        self.sla_violation_rate.append(found.sla_violation_rate)
        self.seconds.append(found.seconds)
        self.evaluations = found.evaluations


@dataclass
class Case:
    """All arms on one problem under one objective, with the MILP's reference."""

    problem: AllocationProblem
    milp: Solution
    bound_usd: float  # lower bound on the objective (see lower_bound_usd)
    arms: dict[str, Runs]

    def gaps(self, arm: str) -> list[float]:
        """Objective / bound - 1 per seed."""
        return [v / self.bound_usd - 1 for v in self.arms[arm].objective_usd]

    @property
    def runs(self) -> int:
        """Seeds run per arm."""
        return len(self.arms[BASELINE].objective_usd)

    def above_milp(self, arm: str) -> int:
        """Seeds on which `arm` ends above the MILP's (cost-optimal) allocation's objective."""
        limit = self.milp.objective_usd * (1 + 1e-9)
        return sum(v > limit for v in self.arms[arm].objective_usd)

    def wins(self, arm: str) -> int:
        """Seeds on which `arm` ends strictly below seed + repair (same starting population)."""
        pairs = zip(self.arms[arm].objective_usd, self.arms[BASELINE].objective_usd, strict=True)
        return sum(v < b - 1e-9 * abs(b) for v, b in pairs)


def lower_bound_usd(problem: AllocationProblem, milp: Solution) -> float:
    """A proven lower bound on the problem's objective from the cost-only MILP.

    The SLA, latency and imbalance terms are >= 0 and the utilization credit is at most
    utilization_usd_per_hour per hour (utilization <= 1), so min objective >= compute x min cost
    - that credit. For the cost-only objective this is the MILP optimum (or its dual bound;
    the incumbent, not a bound, if HiGHS stopped without one: the table shows its status).
    """
    cost = milp.cost_usd if milp.status == "optimal" else (milp.bound_usd or milp.cost_usd)
    horizon_h = problem.interval_h * problem.n_intervals
    return problem.weights.compute * cost - problem.weights.utilization_usd_per_hour * horizon_h


def run_case(problem: AllocationProblem, seeds: tuple[int, ...] | None = None) -> Case:
    """The MILP once, then every arm once per seed (default SEEDS) on the numpy backend."""
    milp = solve_milp(problem, time_limit_s=MILP_LIMIT_S)
    arms = {name: Runs() for name in ARMS}
    for seed in SEEDS if seeds is None else seeds:
        for name, (config, _) in ARMS.items():
            arms[name].add(solve_gapso(problem, seed=seed, config=config, backend="numpy"))
    return Case(problem, milp, lower_bound_usd(problem, milp), arms)


def spread(values: list[float], fmt: str) -> str:
    """'median (min-max)' of `values` with the format spec `fmt`."""
    return (
        f"{format(statistics.median(values), fmt)} "
        f"({format(min(values), fmt)}-{format(max(values), fmt)})"
    )


def percent(values: list[float]) -> str:
    """Fractions as 'median (min-max) %'."""
    return spread([100 * v for v in values], ".3f") + " %"


def shape(problem: AllocationProblem) -> str:
    """T x offers x variants."""
    return f"{problem.n_intervals}x{len(problem.offers)}x{len(problem.variants)}"


def summary_lines(cases: list[Case]) -> list[str]:
    """Per arm, over all problems and seeds: gap, runs against seed + repair and MILP, seconds."""
    lines = [
        "| arm | evaluations | gap to bound (median of per-problem medians) | worst gap "
        "| runs better than seed + repair | runs above the MILP allocation "
        "| median s (slowest problem) |",
        "|---|---|---|---|---|---|---|",
    ]
    runs = sum(c.runs for c in cases)
    for arm in ARMS:
        medians = [statistics.median(c.gaps(arm)) for c in cases]
        worst = max(g for c in cases for g in c.gaps(arm))
        slowest = max(statistics.median(c.arms[arm].seconds) for c in cases)
        wins = "-" if arm == BASELINE else f"{sum(c.wins(arm) for c in cases)}/{runs}"
        lines.append(
            f"| {arm} | {cases[0].arms[arm].evaluations} | {100 * statistics.median(medians):.3f} %"
            f" | {100 * worst:.3f} % | {wins} | {sum(c.above_milp(arm) for c in cases)}/{runs} "
            f"| {slowest:.2f} |"
        )
    return lines


def finding_lines(cases: list[Case]) -> list[str]:
    """What the search adds over seed + repair, in numbers."""
    runs = sum(c.runs for c in cases)
    gains = [  # gap points the full search removes, per (problem, seed)
        b - g for c in cases for b, g in zip(c.gaps(BASELINE), c.gaps("GA-PSO"), strict=True)
    ]
    moved = [c.problem.name for c in cases if c.wins("GA-PSO")]
    means = ", ".join(
        f"{arm} {100 * statistics.fmean(g for c in cases for g in c.gaps(arm)):.3f} %"
        for arm in ARMS
    )
    return [
        f"- GA-PSO ends below seed + repair in {sum(c.wins('GA-PSO') for c in cases)}/{runs} "
        f"runs, on {len(moved)} of {len(cases)} problems ({', '.join(moved) or 'none'}); it "
        f"removes a median {100 * statistics.median(gains):.3f} and at most "
        f"{100 * max(gains):.3f} percentage points of gap to the bound.",
        f"- Mean gap to the bound over all runs: {means}.",
        "",
    ]


def case_lines(cases: list[Case]) -> list[str]:
    """One row per (problem, arm) and one for the MILP's allocation."""
    lines = [
        "| instance | T x offers x variants | arm | objective USD | gap to bound | compute USD "
        "| SLA violation % | better than seed + repair | s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cases:
        name, size, m = c.problem.name, shape(c.problem), c.milp
        lines.append(
            f"| {name} | {size} | MILP ({m.status}; bound {c.bound_usd:.3f}) | "
            f"{m.objective_usd:.3f} | {100 * (m.objective_usd / c.bound_usd - 1):.3f} % | "
            f"{m.cost_usd:.3f} | {100 * m.sla_violation_rate:.3f} | - | {m.seconds:.2f} |"
        )
        for arm, runs in c.arms.items():
            wins = "-" if arm == BASELINE else f"{c.wins(arm)}/{c.runs}"
            lines.append(
                f"| {name} | {size} | {arm} | {spread(runs.objective_usd, '.3f')} | "
                f"{percent(c.gaps(arm))} | {spread(runs.cost_usd, '.3f')} | "
                f"{percent(runs.sla_violation_rate).removesuffix(' %')} | {wins} | "
                f"{spread(runs.seconds, '.2f')} |"
            )
    return lines


def header_lines(started: datetime, load: float) -> list[str]:
    """Title, command, machine, date and what each arm is."""
    return [
        "## Ablation: what the GA-PSO's search adds to LP seeding and repair",
        "",
        "Generated by:",
        "",
        f"    {COMMAND}",
        "",
        f"Run on {started:%Y-%m-%d %H:%M} UTC. Machine: {platform.machine()}, "
        f"{os.cpu_count()} CPU cores (load average {load:.2f} at the start), no "
        f"GPU; Python {platform.python_version()}, numpy {np.__version__}; GA-PSO on the numpy "
        "backend, single-threaded (`solve_gapso` pins it).",
        "",
        "Problems: the eight of `benchmarks/optimization.py` (`optimization.suite.bench_suite`), "
        "each under two objectives: **cost**, the suite's own (`Weights.cost_only()`, linear, "
        "which the MILP solves exactly), and **cost + SLA**, the default `Weights()` (Erlang-C "
        "violation and p99 terms, utilization credit, imbalance), which the MILP cannot express. "
        f"Seeds {SEEDS[0]}-{SEEDS[-1]} ({len(SEEDS)}); cells are median (min-max) over seeds. "
        f"MILP: HiGHS, time limit {MILP_LIMIT_S:g} s, once per problem.",
        "",
        'Arms, all `solve_gapso(problem, seed=s, config=..., backend="numpy")` with the '
        "default population 48 and every other field at its default:",
        "",
        *[f"- **{name}**: {how}." for name, (_, how) in ARMS.items()],
        "",
        "The starting population is the LP relaxation rounded up, to nearest, down and at "
        "random, half of it jittered (`repair.seed_population`), then repaired to the hard "
        "constraints and trimmed (`Repairer.repair`). It is drawn first from the seed's "
        "Generator, so for one seed every arm starts from the same population and "
        '"better than seed + repair" is a paired count. Every arm keeps its best so far '
        "(elitism, personal bests), so none ends worse than seed + repair. The LP relaxation "
        "is of the cost objective alone, so the seeds start near the cost optimum and know "
        "nothing of the SLA terms: the second objective is where the search has room to add.",
        "",
        "Bound: for **cost**, the MILP optimum (all proven here unless the table says "
        "otherwise). For **cost + SLA**, a proven but loose lower bound: the cost optimum minus "
        "the largest utilization credit (`utilization_usd_per_hour` x horizon), since the other "
        "added terms are >= 0. Its gaps measure distance from that bound, not from an optimum, "
        "which nothing here knows; the MILP row there is the cost-optimal allocation scored on "
        "the full objective. SLA violation % is the model's expected share of requests over "
        "the latency target, reported under both objectives (only the second weighs it).",
        "",
    ]


def render(results: dict[str, list[Case]], started: datetime, load: float) -> str:
    """The markdown document."""
    lines = header_lines(started, load)
    for objective, cases in results.items():
        lines += [
            f"### Ablation, objective: {objective}",
            "",
            *summary_lines(cases),
            "",
            *finding_lines(cases),
            *case_lines(cases),
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    """Run the ablation and write the document."""
    started, load = datetime.now(UTC), os.getloadavg()[0]
    results: dict[str, list[Case]] = {}
    for objective, weights in OBJECTIVES.items():
        results[objective] = []
        for problem in bench_suite():
            print(f"{objective}: {problem.name}", file=sys.stderr, flush=True)
            results[objective].append(run_case(dataclasses.replace(problem, weights=weights)))
    write_section(SECTION, render(results, started, load))
    print(f"wrote section {SECTION!r} of {DOCUMENT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
