"""Dense numpy view of a problem: the option axis (eligible offer x variant pairs), its vectors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from optimization.backend import Backend
from optimization.problem import AllocationProblem, ModelVariant, Offer

Pair = tuple[int, int, float, float]


class InfeasibleProblem(ValueError):
    """No allocation meets the hard constraints; `constraint` names the one that cannot be met."""

    def __init__(self, constraint: str, detail: str) -> None:
        super().__init__(f"infeasible: constraint {constraint!r} cannot be met: {detail}")
        self.constraint = constraint


@dataclass(frozen=True, eq=False)
class Layout:
    """Arrays over the K options (offer, variant) a solver may allocate, and the T intervals.

    An allocation is an integer array `counts` of shape (T, K); populations are (n, T, K).
    """

    offer_index: np.ndarray  # (K,) index into problem.offers
    variant_index: np.ndarray  # (K,) index into problem.variants
    price_per_hour_usd: np.ndarray  # (K,) marginal price: 0 for a commitment (already paid)
    list_price_per_hour_usd: np.ndarray  # (K,) price of the offer
    capacity_rps: np.ndarray  # (K,) saturation throughput per replica
    usable_capacity_rps: np.ndarray  # (K,) capacity_rps x max_utilization
    slots: np.ndarray  # (K,) parallel service slots per replica, capacity x service time
    is_spot: np.ndarray  # (K,) bool
    option_upper: np.ndarray  # (K,) most replicas of this option alone per interval
    offer_of_option: np.ndarray  # (n_limited, K) 0/1, rows = offers with a count limit
    offer_limit: np.ndarray  # (n_limited,)
    need_rps: np.ndarray  # (T,) demand at the planning quantile
    scenario_rps: np.ndarray  # (S, T) demand scenarios for SLA risk
    scenario_weight: np.ndarray  # (S,) their probabilities
    committed_usd_per_hour: float  # commitments (reserved), paid whatever the plan
    serverless_price_per_rps_hour_usd: float
    serverless_capacity_rps: float
    interval_h: float
    latency_target_ms: float
    serverless_violation_rate: float  # share of serverless requests over the target
    min_non_spot_replicas: float
    min_replicas: float
    max_replicas: float
    budget_per_hour_usd: float  # inf when no cap
    max_change_per_interval: float  # inf when no cap
    initial_replicas: float  # nan when unknown

    @property
    def n_options(self) -> int:
        """K."""
        return len(self.offer_index)

    @property
    def n_intervals(self) -> int:
        """T."""
        return len(self.need_rps)


def layout_problem(problem: AllocationProblem) -> Layout:
    """The dense layout of `problem`; raises InfeasibleProblem when no option is eligible."""
    c = problem.constraints
    offers = [o for o in problem.offers if o.purchase_option in c.allowed_purchase_options]
    if not offers:
        raise InfeasibleProblem(
            "allowed_purchase_options",
            f"no offer is sold as {list(c.allowed_purchase_options)}",
        )
    variants = [v for v in problem.variants if v.accuracy >= c.min_accuracy]
    if not variants:
        best = max(v.accuracy for v in problem.variants)
        raise InfeasibleProblem(
            "min_accuracy", f"best variant accuracy {best} < min_accuracy {c.min_accuracy}"
        )
    pairs = eligible_pairs(problem, offers, variants)
    if not pairs:
        raise InfeasibleProblem(
            "variants", "no eligible variant has a profile for any allowed instance type"
        )
    return build_layout(problem, pairs)


def eligible_pairs(
    problem: AllocationProblem, offers: Sequence[Offer], variants: Sequence[ModelVariant]
) -> list[Pair]:
    """(offer index, variant index, capacity_rps, service_time_ms) for every runnable pair."""
    offer_pos = {o.name: i for i, o in enumerate(problem.offers)}
    variant_pos = {v.name: j for j, v in enumerate(problem.variants)}
    pairs: list[Pair] = []
    for offer in offers:
        for variant in variants:
            for profile in variant.profiles:
                if profile.instance_type == offer.instance_type:
                    pairs.append(
                        (
                            offer_pos[offer.name],
                            variant_pos[variant.name],
                            profile.capacity_rps,
                            profile.service_time_ms,
                        )
                    )
    return pairs


def build_layout(problem: AllocationProblem, pairs: Sequence[Pair]) -> Layout:
    """Assemble the Layout arrays from the eligible pairs."""
    c = problem.constraints
    offer_index = np.array([p[0] for p in pairs])
    offers = [problem.offers[i] for i in offer_index]
    capacity = np.array([p[2] for p in pairs], dtype=float)
    list_price = np.array([o.price_per_hour_usd for o in offers])
    prepaid = np.array([o.is_committed for o in offers])
    limited = sorted({i for i in offer_index if problem.offers[i].available_count is not None})
    membership = np.array([[float(k == i) for k in offer_index] for i in limited]).reshape(
        len(limited), len(pairs)
    )
    limits = np.array([problem.offers[i].available_count for i in limited], dtype=float)
    upper = np.full(len(pairs), float(c.max_replicas))
    for row, limit in zip(membership, limits, strict=True):
        upper = np.where(row > 0, np.minimum(upper, limit), upper)
    committed = sum(o.price_per_hour_usd * o.committed_count for o in problem.offers)
    serverless = problem.serverless
    levels = np.array(problem.demand.levels)
    return Layout(
        offer_index=offer_index,
        variant_index=np.array([p[1] for p in pairs]),
        price_per_hour_usd=np.where(prepaid, 0.0, list_price),
        list_price_per_hour_usd=list_price,
        capacity_rps=capacity,
        usable_capacity_rps=capacity * c.max_utilization,
        slots=np.maximum(capacity * np.array([p[3] for p in pairs]) / 1000, 1e-9),
        is_spot=np.array([o.is_spot for o in offers]),
        option_upper=upper,
        offer_of_option=membership,
        offer_limit=limits,
        need_rps=problem.demand.rps_at(c.demand_quantile),
        scenario_rps=np.asarray(problem.demand.rps, dtype=float),
        scenario_weight=scenario_weights(levels),
        committed_usd_per_hour=float(committed),
        serverless_price_per_rps_hour_usd=serverless.price_per_rps_hour_usd if serverless else 0.0,
        serverless_capacity_rps=serverless.capacity_rps if serverless else 0.0,
        interval_h=problem.interval_h,
        latency_target_ms=problem.sla.latency_target_ms,
        serverless_violation_rate=serverless_violation_rate(problem),
        min_non_spot_replicas=float(c.min_non_spot_replicas),
        min_replicas=float(c.min_replicas),
        max_replicas=float(c.max_replicas),
        budget_per_hour_usd=inf_if_none(c.budget_per_hour_usd),
        max_change_per_interval=inf_if_none(c.max_change_per_interval),
        initial_replicas=(
            float("nan") if problem.initial_replicas is None else float(problem.initial_replicas)
        ),
    )


def inf_if_none(value: float | None) -> float:
    """`value` as a float, +inf for no limit."""
    return float("inf") if value is None else float(value)


def serverless_violation_rate(problem: AllocationProblem) -> float:
    """Share of serverless requests over the target: all if warm ones are slow, else cold ones."""
    s, target_ms = problem.serverless, problem.sla.latency_target_ms
    if s is None:
        return 0.0
    if s.duration_ms > target_ms:
        return 1.0
    return s.cold_start_fraction if s.cold_start_s * 1000 + s.duration_ms > target_ms else 0.0


def on_backend(layout: Layout, backend: Backend) -> Layout:
    """A copy of `layout` whose arrays live on `backend` (float64)."""
    moved: dict[str, Any] = {  # numpy arrays or torch tensors
        f.name: backend.asarray(getattr(layout, f.name))
        for f in fields(layout)
        if isinstance(getattr(layout, f.name), np.ndarray)
    }
    return replace(layout, **moved)


def scenario_weights(levels: np.ndarray) -> np.ndarray:
    """Probability mass each quantile level stands for: the band between midpoints.

    (0.5, 0.9, 0.99) -> (0.7, 0.245, 0.055): a coarse, documented stand-in for the forecast's
    distribution when only a few quantiles are known.
    """
    edges = np.concatenate([[0.0], (levels[1:] + levels[:-1]) / 2, [1.0]])
    return np.diff(edges)
