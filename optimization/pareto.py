"""Cost against SLA risk: an epsilon-constraint sweep over the planning quantile, and its knee."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from optimization.layout import InfeasibleProblem
from optimization.problem import AllocationProblem
from optimization.solution import Solution
from optimization.solver import solve


@dataclass(frozen=True, eq=False)
class ParetoPoint:
    """One non-dominated allocation: what it costs and how often it misses the SLA."""

    demand_quantile: float  # the forecast quantile the capacity covers
    cost_usd: float
    sla_risk: float  # expected share of requests over the latency target
    solution: Solution

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, allocation included."""
        return {
            "demand_quantile": self.demand_quantile,
            "cost_usd": self.cost_usd,
            "sla_risk": self.sla_risk,
            "solution": self.solution.to_dict(),
        }


def pareto_front(
    problem: AllocationProblem,
    *,
    quantiles: Sequence[float] | None = None,
    method: str = "exact",
    seed: int = 0,
    time_limit_s: float | None = None,
) -> list[ParetoPoint]:
    """Non-dominated (cost, SLA risk) allocations, cheapest first.

    Each point minimises cost with capacity for one demand quantile (the epsilon constraint);
    its risk is the expected violation rate over the forecast's quantile scenarios.

    Args:
        problem: the allocation problem.
        quantiles: planning quantiles to sweep; default 9 points from the lowest forecast level
            to the highest.
        method: solver per point (see solve); "exact" is fastest on the compute cost.
        seed: seed for the stochastic methods.
        time_limit_s: limit per point.
    """
    levels = problem.demand.levels
    grid = quantiles or np.linspace(min(levels), max(levels), 9).round(4).tolist()
    points = []
    for q in grid:
        variant = dataclasses.replace(
            problem, constraints=dataclasses.replace(problem.constraints, demand_quantile=q)
        )
        try:
            sol = solve(variant, method=method, seed=seed, time_limit_s=time_limit_s)
        except InfeasibleProblem:
            continue
        points.append(ParetoPoint(float(q), sol.cost_usd, sol.sla_violation_rate, sol))
    if not points:
        raise InfeasibleProblem("demand_quantile", "no swept quantile admits an allocation")
    return non_dominated(points)


PLAN_METHODS = ("exact", "hybrid")


def plan_front(
    problem: AllocationProblem, *, replayable: bool = True, seed: int = 0
) -> list[ParetoPoint]:
    """The front a scaling plan's candidates come from, cheapest first.

    Two sweeps over the same quantiles, merged to what neither beats: GA-PSO on the full
    objective, compute cost plus the SLA's expected penalty ("hybrid": seeded with the MILP's
    allocation), and the MILP on compute cost alone ("exact"), the reference that is optimal
    for what it counts. Each point's `solution.method` says which found it. The plans app
    and the simulator's deployed policy both pose plans from it.

    GA-PSO may trade an hour's VMs for functions where the allocation model finds that
    cheaper (it counts functions as never late), which only a replay of the candidate can
    check; a plan whose candidates cannot be replayed (`replayable` False: a new workload's
    onboarding plan, with no traffic yet) is posed from the MILP's sweep alone.
    """
    methods = PLAN_METHODS if replayable else ("exact",)
    points = [p for method in methods for p in pareto_front(problem, method=method, seed=seed)]
    return non_dominated(points)


def non_dominated(points: Sequence[ParetoPoint]) -> list[ParetoPoint]:
    """The points no other point beats on both cost and risk, sorted by cost."""
    keep = [
        p
        for p in points
        if not any(
            (o.cost_usd <= p.cost_usd and o.sla_risk <= p.sla_risk)
            and (o.cost_usd < p.cost_usd or o.sla_risk < p.sla_risk)
            for o in points
        )
    ]
    unique: dict[tuple[float, float], ParetoPoint] = {}
    for p in sorted(keep, key=lambda p: (p.cost_usd, p.sla_risk)):
        unique.setdefault((round(p.cost_usd, 9), round(p.sla_risk, 12)), p)
    return list(unique.values())


def knee_point(front: Sequence[ParetoPoint]) -> ParetoPoint:
    """The recommended point of a front sorted by cost.

    The point farthest from the chord between the front's two ends, with cost and risk each
    scaled to [0, 1] (the Kneedle idea); of a front of one or two points, the safer one.
    """
    if not front:
        raise ValueError("front must not be empty")
    if len(front) <= 2:
        return min(front, key=lambda p: (p.sla_risk, p.cost_usd))
    cost = np.array([p.cost_usd for p in front])
    risk = np.array([p.sla_risk for p in front])
    x = (cost - cost.min()) / (np.ptp(cost) or 1.0)
    y = (risk - risk.min()) / (np.ptp(risk) or 1.0)
    # The chord runs from (0, 1) (cheapest, riskiest) to (1, 0); distance to x + y = 1.
    distance = (1 - x - y) / np.sqrt(2)
    return front[int(np.argmax(distance))]
