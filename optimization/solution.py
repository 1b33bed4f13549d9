"""What a solver returns: the allocation per interval with its cost, SLA risk and provenance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from optimization.layout import Layout
from optimization.objective import evaluate_allocation
from optimization.problem import AllocationProblem


@dataclass(frozen=True, slots=True)
class Placement:
    """Replicas of one model variant on one offer, in one interval of a schedule."""

    offer: str  # the offer's name, "type/purchase_option"
    variant: str
    count: int

    def to_json(self) -> dict[str, Any]:
        """As a plan stores it: {"offer", "variant", "count"}."""
        return {"offer": self.offer, "variant": self.variant, "count": self.count}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Placement:
        """A placement stored by `to_json`."""
        return cls(str(data["offer"]), str(data["variant"]), int(data["count"]))


Schedule = tuple[tuple[Placement, ...], ...]  # per interval, its non-zero placements


def schedule_json(schedule: Schedule) -> list[list[dict[str, Any]]]:
    """A schedule as a plan stores it."""
    return [[p.to_json() for p in row] for row in schedule]


def schedule_from_json(data: Sequence[Sequence[Mapping[str, Any]]]) -> Schedule:
    """A schedule stored by `schedule_json`."""
    return tuple(tuple(Placement.from_json(entry) for entry in row) for row in data)


@dataclass(frozen=True, eq=False)
class Solution:
    """An allocation of `problem`: counts[t, k] replicas of option k = (offer, variant)."""

    problem_name: str
    method: str  # gapso | exact | hybrid | exhaustive | greedy
    counts: np.ndarray  # (T, K) int
    offer_names: tuple[str, ...]  # (K,)
    variant_names: tuple[str, ...]  # (K,)
    serverless_rps: np.ndarray  # (T,)
    objective_usd: float
    cost_usd: float  # compute bill over the horizon, reserved commitments included
    sla_violation_rate: float  # expected share of requests over the latency target
    utilization: float
    feasible: bool
    status: str  # optimal | time_limit | heuristic
    bound_usd: float | None  # proven lower bound on the objective (exact methods)
    mip_gap: float | None  # (objective - bound) / objective when not proven optimal
    seconds: float
    evaluations: int
    seed: int | None

    def schedule(self) -> Schedule:
        """Per interval, the non-zero placements."""
        return tuple(
            tuple(
                Placement(self.offer_names[k], self.variant_names[k], int(n))
                for k, n in enumerate(row)
                if n
            )
            for row in self.counts
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "problem": self.problem_name,
            "method": self.method,
            "status": self.status,
            "feasible": self.feasible,
            "objective_usd": self.objective_usd,
            "cost_usd": self.cost_usd,
            "sla_violation_rate": self.sla_violation_rate,
            "utilization": self.utilization,
            "bound_usd": self.bound_usd,
            "mip_gap": self.mip_gap,
            "seconds": self.seconds,
            "evaluations": self.evaluations,
            "seed": self.seed,
            "replicas": self.counts.sum(axis=1).astype(int).tolist(),
            "serverless_rps": [round(float(v), 6) for v in self.serverless_rps],
            "schedule": schedule_json(self.schedule()),
        }


def make_solution(
    problem: AllocationProblem,
    layout: Layout,
    counts: np.ndarray,
    *,
    method: str,
    status: str = "heuristic",
    bound_usd: float | None = None,
    seconds: float = 0.0,
    evaluations: int = 0,
    seed: int | None = None,
) -> Solution:
    """Wrap allocation `counts` (T, K) of numpy ints with its evaluated figures."""
    counts = np.rint(counts).astype(np.int64)
    figures = evaluate_allocation(counts, layout, problem.weights)
    serverless = np.clip(
        layout.need_rps - counts @ layout.usable_capacity_rps, 0.0, layout.serverless_capacity_rps
    )
    objective = figures["objective_usd"]
    gap = None
    if bound_usd is not None and status != "optimal":
        gap = max(0.0, (objective - bound_usd) / max(abs(objective), 1e-12))
    return Solution(
        problem_name=problem.name,
        method=method,
        counts=counts,
        offer_names=tuple(problem.offers[i].name for i in layout.offer_index),
        variant_names=tuple(problem.variants[j].name for j in layout.variant_index),
        serverless_rps=serverless,
        objective_usd=objective,
        cost_usd=figures["cost_usd"],
        sla_violation_rate=figures["sla_violation_rate"],
        utilization=figures["utilization"],
        feasible=figures["violation"] <= 1e-9,
        status=status,
        bound_usd=bound_usd,
        mip_gap=gap,
        seconds=seconds,
        evaluations=evaluations,
        seed=seed,
    )
