"""The entry point callers use: solve a problem with GA-PSO, the exact MILP, or both."""

from __future__ import annotations

import dataclasses

from optimization.exact import solve_exhaustive, solve_milp, solve_relaxation
from optimization.gapso import GAPSOConfig, solve_gapso
from optimization.layout import layout_problem
from optimization.problem import AllocationProblem
from optimization.solution import Solution

METHODS = ("gapso", "exact", "hybrid", "exhaustive")


def solve(
    problem: AllocationProblem,
    *,
    method: str = "gapso",
    seed: int = 0,
    time_limit_s: float | None = None,
    backend: str = "auto",
    config: GAPSOConfig | None = None,
) -> Solution:
    """Solve `problem` and return the allocation with its cost, SLA risk and provenance.

    Args:
        problem: the allocation problem; its `weights` define the objective.
        method: "gapso" (default), "exact" (HiGHS MILP on the compute cost, the SLA terms are
            then only reported), "hybrid" (the MILP's answer seeds GA-PSO, which polishes it on
            the full objective) or "exhaustive" (tiny problems, full objective).
        seed: seed of every random draw; the same seed gives the same Solution.
        time_limit_s: wall-clock limit of the search (MILP default 30 s).
        backend: "auto", "numpy" or "torch" for GA-PSO.
        config: GA-PSO parameters.

    Raises:
        InfeasibleProblem: (a ValueError) naming the constraint that cannot be met.
        ValueError: for an unknown method.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    config = config or GAPSOConfig()
    if time_limit_s is not None:
        config = dataclasses.replace(config, time_limit_s=time_limit_s)
    if method == "gapso":
        return solve_gapso(problem, seed=seed, config=config, backend=backend)
    if method == "exhaustive":
        return solve_exhaustive(problem)
    exact = solve_milp(problem, time_limit_s=time_limit_s or 30.0)
    if method == "exact":
        return exact
    polished = solve_gapso(
        problem, seed=seed, config=config, backend=backend, seeds=exact.counts[None].astype(float)
    )
    best = polished if polished.objective_usd <= exact.objective_usd else exact
    return dataclasses.replace(
        best,
        method="hybrid",
        bound_usd=exact.bound_usd if problem.weights.is_linear else None,
        seconds=exact.seconds + polished.seconds,
        evaluations=polished.evaluations,
        seed=seed,
    )


def check_problem(problem: AllocationProblem) -> None:
    """Raise InfeasibleProblem (naming the constraint) if no allocation meets the constraints."""
    solve_relaxation(layout_problem(problem))
