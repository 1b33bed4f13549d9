"""Benchmark GA-PSO against the exact MILP and pymoo's GA at equal evaluation budgets.

Run from the repository root (pymoo comes from requirements-bench.txt):

    .venv/bin/python -m benchmarks.optimization

(As a module: run as a script, this file's own name would shadow the `optimization` package.)
It writes docs/benchmarks/optimization.md; every number and verdict in it is computed here,
except the sections other scripts own (benchmarks/optimization_doc.py), which it carries over.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pymoo
from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.core.problem import Problem
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM
from pymoo.operators.repair.rounding import RoundingRepair
from pymoo.operators.sampling.rnd import IntegerRandomSampling
from pymoo.optimize import minimize

from benchmarks.optimization_doc import DOCUMENT, read_section
from optimization.backend import Backend, NumpyBackend, TorchBackend
from optimization.exact import solve_milp
from optimization.gapso import GAPSOConfig, solve_gapso
from optimization.layout import Layout, layout_problem
from optimization.objective import evaluate_population
from optimization.problem import AllocationProblem
from optimization.suite import bench_suite

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = DOCUMENT
CARRIED_SECTIONS = ("ablation",)  # written by benchmarks/optimization_ablation.py
COMMAND = ".venv/bin/python -m benchmarks.optimization"
SEEDS = (0, 1, 2, 3, 4)
MILP_LIMIT_S = 60.0
TARGET_INSTANCE = "large-24x40x3"
TIMING_SEEDS = (0, 1, 2)
NO_CUDA = "not measured: no CUDA GPU on this machine"


class AllocationForPymoo(Problem):
    """The same cost-only objective for pymoo: F = compute cost, G = constraint violation."""

    def __init__(self, problem: AllocationProblem, layout: Layout) -> None:
        self.layout, self.weights = layout, problem.weights
        peak = float(layout.need_rps.max())
        # A fair box: no option needs more replicas than it takes to cover the peak alone.
        top = np.minimum(np.ceil(peak / layout.usable_capacity_rps) + 1, layout.option_upper)
        super().__init__(
            n_var=layout.n_intervals * layout.n_options,
            n_obj=1,
            n_ieq_constr=1,
            xl=0,
            xu=np.tile(top, layout.n_intervals),
            vtype=int,
        )

    def _evaluate(self, x, out, *args, **kwargs):
        counts = np.asarray(x, dtype=float).reshape(
            -1, self.layout.n_intervals, self.layout.n_options
        )
        result = evaluate_population(counts, self.layout, self.weights)
        out["F"] = result.objective_usd
        out["G"] = result.violation


def run_pymoo(problem: AllocationProblem, evaluations: int, seed: int) -> tuple[float, bool, float]:
    """Pymoo's GA with integer operators: (best cost, feasible, seconds)."""
    layout = layout_problem(problem)
    started = time.perf_counter()
    algorithm = GA(
        pop_size=48,
        sampling=IntegerRandomSampling(),
        crossover=SBX(prob=0.9, eta=3.0, vtype=float, repair=RoundingRepair()),
        mutation=PM(eta=3.0, vtype=float, repair=RoundingRepair()),
        eliminate_duplicates=True,
    )
    result = minimize(
        AllocationForPymoo(problem, layout),
        algorithm,
        ("n_evals", evaluations),
        seed=seed,
        verbose=False,
    )
    seconds = time.perf_counter() - started
    if result.X is None:  # no feasible individual: report the least-violating one's cost
        best = min(result.pop, key=lambda ind: (float(ind.CV[0]), float(ind.F[0])))
        return float(best.F[0]), False, seconds
    return float(result.F[0]), True, seconds


@dataclass
class Row:
    """Results on one instance."""

    name: str
    shape: str
    exact_cost: float
    exact_status: str
    exact_seconds: float
    gapso_gaps: list[float]
    gapso_seconds: list[float]
    gapso_evaluations: int
    pymoo_gaps: list[float]
    pymoo_feasible: int
    pymoo_seconds: list[float]
    pymoo_ok: list[bool]

    def pymoo_gap_text(self) -> str:
        """Median gap of pymoo's feasible runs, or a dash when none was feasible."""
        gaps = [g for g, ok in zip(self.pymoo_gaps, self.pymoo_ok, strict=True) if ok]
        return percent(statistics.median(gaps)) if gaps else "- (none feasible)"


def bench_instance(problem: AllocationProblem) -> Row:
    """Exact once, GA-PSO and pymoo once per seed at the same evaluation count."""
    layout = layout_problem(problem)
    exact = solve_milp(problem, time_limit_s=MILP_LIMIT_S)
    row = Row(
        problem.name,
        f"{layout.n_intervals}x{len(problem.offers)}x{len(problem.variants)}",
        exact.cost_usd,
        exact.status,
        exact.seconds,
        [],
        [],
        0,
        [],
        0,
        [],
        [],
    )
    for seed in SEEDS:
        found = solve_gapso(problem, seed=seed, backend="numpy")
        row.gapso_gaps.append(found.cost_usd / exact.cost_usd - 1)
        row.gapso_seconds.append(found.seconds)
        row.gapso_evaluations = found.evaluations
        cost, feasible, seconds = run_pymoo(problem, found.evaluations, seed)
        row.pymoo_gaps.append(cost / exact.cost_usd - 1)
        row.pymoo_feasible += feasible
        row.pymoo_ok.append(feasible)
        row.pymoo_seconds.append(seconds)
    return row


def cuda_available() -> bool:
    """Whether torch sees a CUDA device here."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def timing_backends() -> dict[str, Backend | None]:
    """The backends timed per generation; None marks one that cannot run on this machine."""
    cuda = TorchBackend("cuda") if cuda_available() else None
    return {"numpy": NumpyBackend(), "torch (cpu)": TorchBackend("cpu"), "torch (cuda)": cuda}


@dataclass
class Timing:
    """One backend on one instance: seconds per generation and the best objective, per seed."""

    per_generation_s: list[float]
    objective_usd: list[float]


def time_generations(problem: AllocationProblem, engine: Backend) -> Timing:
    """Seconds per GA or PSO generation: (default run - a run without generations) / generations.

    Both runs of a seed share the seeding, the LP relaxation and the first repair, so the
    difference is the generations alone. Each run ends by copying its answer to the host, so
    device work is finished inside the measured time. One untimed run warms the backend up.
    """
    default, none = GAPSOConfig(), GAPSOConfig(ga_generations=0, pso_iterations=0)
    generations = default.ga_generations + default.pso_iterations
    solve_gapso(problem, seed=TIMING_SEEDS[0], config=none, backend=engine)
    timing = Timing([], [])
    for seed in TIMING_SEEDS:
        full = solve_gapso(problem, seed=seed, config=default, backend=engine)
        start = solve_gapso(problem, seed=seed, config=none, backend=engine)
        timing.per_generation_s.append((full.seconds - start.seconds) / generations)
        timing.objective_usd.append(full.objective_usd)
    return timing


def time_backends(suite: list[AllocationProblem]) -> dict[str, dict[str, Timing | None]]:
    """Per instance, per backend: its Timing, or None where the backend is not here."""
    engines = timing_backends()
    return {
        problem.name: {
            name: time_generations(problem, engine) if engine else None
            for name, engine in engines.items()
        }
        for problem in suite
    }


def backend_lines(timings: dict[str, dict[str, Timing | None]]) -> list[str]:
    """The per-generation table, one row per instance, and a median row."""
    names = list(next(iter(timings.values())))
    lines = [
        "| instance | "
        + " | ".join(f"{name} ms per generation" for name in names)
        + " | torch (cpu) / numpy time | torch (cpu) best / numpy best - 1 |",
        "|---|" + "---|" * (len(names) + 2),
    ]
    ratios = []
    for instance, row in timings.items():
        cells = []
        for timing in row.values():
            cells.append(
                f"{1000 * statistics.median(timing.per_generation_s):.1f}" if timing else NO_CUDA
            )
        numpy_t, torch_t = row["numpy"], row["torch (cpu)"]
        assert numpy_t and torch_t
        ratio = statistics.median(torch_t.per_generation_s) / statistics.median(
            numpy_t.per_generation_s
        )
        ratios.append(ratio)
        quality = statistics.median(torch_t.objective_usd) / statistics.median(
            numpy_t.objective_usd
        )
        lines.append(
            f"| {instance} | {' | '.join(cells)} | {ratio:.1f}x | {percent(quality - 1)} |"
        )
    lines.append(
        f"| median over instances | {' | '.join('' for _ in names)} | "
        f"{statistics.median(ratios):.1f}x | |"
    )
    return lines


def gpu_text() -> str:
    """The GPU this run could use, in words."""
    if not cuda_available():
        return "no CUDA GPU"
    import torch

    return f"GPU {torch.cuda.get_device_name(0)}"


def torch_version() -> str:
    """The installed torch version, or a dash when there is none."""
    try:
        import torch
    except ImportError:
        return "-"
    return str(torch.__version__)


def percent(value: float) -> str:
    """A fraction as a percentage with three decimals."""
    return f"{100 * value:.3f} %"


def render(
    rows: list[Row],
    backends: dict[str, dict[str, Timing | None]],
    started: datetime,
    load: float,
) -> str:
    """The markdown document."""
    gapso_medians = [statistics.median(r.gapso_gaps) for r in rows]
    all_gaps = [g for r in rows for g in r.gapso_gaps]
    target = next(r for r in rows if r.name == TARGET_INSTANCE)
    target_s = statistics.median(target.gapso_seconds)
    # An infeasible pymoo result counts as worse than GA-PSO's (always feasible) one.
    never_worse = all(
        g <= p + 1e-12 or not ok
        for r in rows
        for g, p, ok in zip(r.gapso_gaps, r.pymoo_gaps, r.pymoo_ok, strict=True)
    )
    unproven = [r.name for r in rows if r.exact_status != "optimal"]
    verdicts = [
        ("median gap <= 0.5 %", statistics.median(all_gaps) <= 0.005,
         f"median over all instances and seeds {percent(statistics.median(all_gaps))}"),
        ("worst gap <= 2 %", max(all_gaps) <= 0.02, f"worst {percent(max(all_gaps))}"),
        (f"{TARGET_INSTANCE} in < 2 s", target_s < 2.0, f"median {target_s:.2f} s (numpy)"),
        ("never worse than pymoo's GA at equal evaluations", never_worse,
         f"checked on {len(all_gaps)} (instance, seed) pairs"),
    ]  # fmt: skip
    lines = [
        "# Optimization benchmark: GA-PSO vs exact MILP vs pymoo GA",
        "",
        "Generated by:",
        "",
        f"    {COMMAND}",
        "",
        f"Run on {started:%Y-%m-%d %H:%M} UTC. "
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores shared with other work "
        f"(load average {load:.2f} at the start), "
        f"{gpu_text()}; Python {platform.python_version()}, numpy {np.__version__}, "
        f"pymoo {pymoo.__version__}, torch {torch_version()}.",
        "",
        "Objective: compute cost in USD over the horizon (reserved commitments included), the "
        "linear objective HiGHS solves exactly; hard constraints as in `optimization/problem.py` "
        "(capacity for the p90 forecast at 85 % utilization, a non-spot floor of 2, reserved "
        "commitments, budget, step limit). Gap = cost / exact cost - 1. "
        f"Seeds {list(SEEDS)}; medians over seeds. "
        f"pymoo's GA (integer sampling, SBX + PM with rounding, pop 48) gets exactly the number of "
        "objective evaluations GA-PSO used; GA-PSO's repair and its one LP relaxation are not "
        "counted as evaluations but are in its seconds.",
        "",
        "## Targets",
        "",
        "| target | met | measured |",
        "|---|---|---|",
        *[f"| {name} | {'yes' if ok else 'NO'} | {how} |" for name, ok, how in verdicts],
        "",
    ]
    if unproven:
        lines += [f"MILP optimality not proven within {MILP_LIMIT_S:g} s on: {unproven}; "
                  "their gaps are to the best MILP incumbent.", ""]  # fmt: skip
    lines += [
        "## Per instance",
        "",
        "On these generated instances HiGHS proves optimality quickly (at most "
        f"{max(r.exact_seconds for r in rows):.2f} s), faster than the cost model's 24x40x3 "
        "measurement (proof in 20-110 s) on other instances: the MILP is the better tool for the "
        "linear cost objective here, and GA-PSO earns its place on the nonlinear cost + SLA "
        "objective, which the MILP cannot express (method `hybrid` combines them). What the "
        "search adds to its LP seeding and repair, per objective: the ablation section below.",
        "",
        "| instance | T x offers x variants | exact USD | MILP status | MILP s | GA-PSO gap "
        "(median / worst) | GA-PSO s | evals | pymoo gap (median of feasible runs) | "
        "pymoo feasible | pymoo s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r, med in zip(rows, gapso_medians, strict=True):
        lines.append(
            f"| {r.name} | {r.shape} | {r.exact_cost:.3f} | {r.exact_status} | "
            f"{r.exact_seconds:.2f} | {percent(med)} / {percent(max(r.gapso_gaps))} | "
            f"{statistics.median(r.gapso_seconds):.2f} | {r.gapso_evaluations} | "
            f"{r.pymoo_gap_text()} | {r.pymoo_feasible}/{len(SEEDS)} | "
            f"{statistics.median(r.pymoo_seconds):.2f} |"
        )
    lines += [
        "",
        "## Backends: seconds per generation",
        "",
        f"Generated by the same command. Median over seeds {list(TIMING_SEEDS)} of (default "
        "run - run without generations) / 50 generations (25 GA, 25 PSO; population 48), each "
        "backend warmed up by one untimed run; the torch path keeps a whole generation on its "
        "device (draws from a torch.Generator there, selection, crossover, mutation, the swarm's "
        "moves, repair, evaluation) and reads nothing back until the answer on this cost "
        "objective (the cost + SLA objective still reads one number per evaluation, in "
        "`queueing.erlang_b`). Its repair loops "
        "run a fixed number of rounds instead of reading whether work is left "
        "(`TorchBackend.rounds_without_reads`), which costs launches on a CPU. The two backends "
        "draw different random numbers, so they compare in quality, not bit for bit: last "
        "column, median best objective of the same seeds.",
        "",
        *backend_lines(backends),
        "",
        "`auto` picks numpy on a CPU and torch on CUDA when a GPU is present.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Run the benchmark and write the document."""
    started, load = datetime.now(UTC), os.getloadavg()[0]
    suite = bench_suite()
    rows = [bench_instance(problem) for problem in suite]
    backends = time_backends(suite)
    previous = OUTPUT.read_text() if OUTPUT.exists() else ""
    carried = [read_section(previous, name) for name in CARRIED_SECTIONS]
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    document = render(rows, backends, started, load)
    OUTPUT.write_text("\n".join([document, *(section for section in carried if section)]))
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
