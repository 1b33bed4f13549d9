"""Cost + SLA objective of a whole population at once, with the M/M/c (Erlang-C) latency model.

objective = compute x compute_cost_usd
          + sum_t interval_h x (violation_usd_per_hour x expected violation rate_t
                                + latency_usd_per_hour x relative p99 excess_t
                                - utilization_usd_per_hour x utilization_t)
          + imbalance_usd_per_hour x horizon_h x max_t load imbalance_t
The violation rate is an expectation over the demand quantiles (layout.scenario_weight).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from optimization.backend import Backend, NumpyBackend
from optimization.layout import Layout
from optimization.problem import Weights
from optimization.queueing import erlang_c, response_tail

# Added per unit of constraint violation: larger than any fleet bill, so a feasible allocation
# always ranks above an infeasible one.
PENALTY_USD = 1e7
NUMPY = NumpyBackend()


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Per-candidate results, each of shape (n,) on the backend."""

    objective_usd: Any
    compute_cost_usd: Any
    violation: Any  # sum of hard-constraint violations, 0 when feasible
    sla_violation_rate: Any
    latency_excess: Any  # mean relative p99 excess over the target
    utilization: Any
    imbalance: Any

    @property
    def penalized_usd(self) -> Any:
        """Objective plus PENALTY_USD per unit of violation: what the searches minimise."""
        return self.objective_usd + PENALTY_USD * self.violation


def evaluate_population(
    counts: Any, layout: Layout, weights: Weights, backend: Backend = NUMPY
) -> Evaluation:
    """Evaluate allocations `counts` of shape (n, T, K) on `layout` (already on `backend`)."""
    xp = backend.xp
    capacity = counts @ layout.capacity_rps  # (n, T)
    serverless = backend.clip(
        layout.need_rps - counts @ layout.usable_capacity_rps, 0.0, layout.serverless_capacity_rps
    )
    hourly = counts @ layout.price_per_hour_usd + serverless * (
        layout.serverless_price_per_rps_hour_usd
    )
    horizon_h = layout.interval_h * layout.n_intervals
    compute = hourly.sum(axis=1) * layout.interval_h + layout.committed_usd_per_hour * horizon_h
    violation = constraint_violation(counts, serverless, hourly, layout, backend)
    zeros = xp.zeros_like(compute)
    if weights.is_linear:
        return Evaluation(weights.compute * compute, compute, violation, zeros, zeros, zeros, zeros)
    sla = sla_terms(counts, capacity, layout, backend)
    utilization, imbalance = load_terms(counts, capacity, serverless, layout, backend)
    h = layout.interval_h
    objective = (
        weights.compute * compute
        + h * weights.violation_usd_per_hour * sla["violation_t"].sum(axis=1)
        + h * weights.latency_usd_per_hour * sla["excess_t"].sum(axis=1)
        - h * weights.utilization_usd_per_hour * utilization.sum(axis=1)
        + horizon_h * weights.imbalance_usd_per_hour * backend.amax(imbalance, 1)
    )
    return Evaluation(
        objective,
        compute,
        violation,
        sla["violation_rate"],
        sla["excess_t"].mean(axis=1),
        utilization.mean(axis=1),
        backend.amax(imbalance, 1),
    )


def constraint_violation(
    counts: Any, serverless: Any, hourly: Any, layout: Layout, backend: Backend
) -> Any:
    """Total violation of the hard constraints per candidate, (n,); 0 means feasible."""
    xp = backend.xp
    total = counts.sum(axis=2)  # (n, T)
    shortfall = backend.clip(
        layout.need_rps - counts @ layout.usable_capacity_rps - serverless, 0.0
    ) / (layout.need_rps + 1.0)
    non_spot = counts @ (1.0 - layout.is_spot)
    parts = [
        shortfall.sum(axis=1),
        backend.clip(layout.min_non_spot_replicas - non_spot, 0.0).sum(axis=1),
        backend.clip(layout.min_replicas - total, 0.0).sum(axis=1),
        backend.clip(total - layout.max_replicas, 0.0).sum(axis=1),
        backend.clip(hourly + layout.committed_usd_per_hour - layout.budget_per_hour_usd, 0.0).sum(
            axis=1
        ),
        backend.clip(-counts, 0.0).sum(axis=(1, 2)),
    ]
    if layout.offer_limit.shape[0]:
        per_offer = counts @ layout.offer_of_option.T  # (n, T, L)
        parts.append(backend.clip(per_offer - layout.offer_limit, 0.0).sum(axis=(1, 2)))
    if math.isfinite(layout.max_change_per_interval):
        steps = xp.abs(total[:, 1:] - total[:, :-1])
        parts.append(backend.clip(steps - layout.max_change_per_interval, 0.0).sum(axis=1))
        if math.isfinite(layout.initial_replicas):
            first = xp.abs(total[:, 0] - layout.initial_replicas)
            parts.append(backend.clip(first - layout.max_change_per_interval, 0.0))
    return sum(parts)


def sla_terms(counts: Any, capacity: Any, layout: Layout, backend: Backend) -> dict[str, Any]:
    """Expected violation rate and p99 excess per interval, over the demand scenarios."""
    xp = backend.xp
    demand = layout.scenario_rps[:, None, :]  # (S, 1, T)
    usable = (counts @ layout.usable_capacity_rps)[None]  # (1, n, T)
    spill = backend.clip(demand - usable, 0.0, layout.serverless_capacity_rps)
    vm_rps = demand - spill  # (S, n, T)
    slots = xp.round(counts @ layout.slots)[None] + 0.0 * vm_rps  # (S, n, T)
    slots = backend.clip(slots, 1.0)
    cap = capacity[None] + 0.0 * vm_rps
    rate = xp.where(cap > 0, cap / slots, 1.0)  # per-slot service rate mu, 1/s
    overloaded = vm_rps >= cap
    load = xp.where(overloaded, 0.0, vm_rps / rate)
    wait_prob = erlang_c(xp.where(overloaded, 1.0, slots), load, backend)
    theta = slots * rate - vm_rps
    target_s = layout.latency_target_ms / 1000
    theta_safe = xp.where(overloaded, 1.0, theta)
    tail = response_tail(wait_prob, rate, theta_safe, target_s, backend)
    vm_violation = xp.where(overloaded, 1.0, xp.where(vm_rps > 0, tail, 0.0))
    p99_s = (
        backend.clip(xp.log(backend.clip(wait_prob, 1e-300) / 0.005), 0.0) / theta_safe
        + math.log(200) / rate
    )
    excess = xp.where(overloaded, 10.0, backend.clip(p99_s / target_s - 1, 0.0, 10.0))
    excess = xp.where(vm_rps > 0, excess, 0.0)
    late = vm_rps * vm_violation + spill * layout.serverless_violation_rate  # (S, n, T)
    weight = layout.scenario_weight[:, None, None]
    violation_t = (weight * late / (demand + 1e-12)).sum(axis=0)
    rate_total = (weight[:, :, 0] * late.sum(axis=2) / (demand.sum(axis=2) + 1e-12)).sum(axis=0)
    return {
        "violation_t": violation_t,
        "excess_t": (weight * excess).sum(axis=0),
        "violation_rate": rate_total,
    }


def load_terms(
    counts: Any, capacity: Any, serverless: Any, layout: Layout, backend: Backend
) -> tuple[Any, Any]:
    """Utilization (served / provisioned) and load imbalance per interval, each (n, T).

    Imbalance: with requests split evenly per replica (round robin), the busiest replica type's
    utilization minus the pool's; 0 for a pool of alike replicas.
    """
    xp = backend.xp
    vm_rps = layout.need_rps - serverless
    safe_cap = xp.where(capacity > 0, capacity, 1.0)
    utilization = xp.where(capacity > 0, backend.clip(vm_rps / safe_cap, 0.0, 1.0), 0.0)
    replicas = counts.sum(axis=2)
    present_cap = xp.where(counts > 0, layout.capacity_rps + 0.0 * counts, float("inf"))
    smallest = backend.amin(present_cap, 2)
    per_replica = vm_rps / xp.where(replicas > 0, replicas, 1.0)
    busiest = xp.where(replicas > 0, per_replica / smallest, 0.0)
    return utilization, backend.clip(busiest - utilization, 0.0)


def evaluate_allocation(counts: np.ndarray, layout: Layout, weights: Weights) -> dict[str, float]:
    """Scalar results for one allocation (T, K) with numpy: the numbers a Solution reports.

    The SLA figures are always computed (with the default weights' model) even when `weights`
    is the linear, cost-only objective.
    """
    population = counts[None].astype(float)
    objective = evaluate_population(population, layout, weights).objective_usd
    result = evaluate_population(population, layout, Weights())
    return {
        "objective_usd": float(objective[0]),
        "cost_usd": float(result.compute_cost_usd[0]),
        "violation": float(result.violation[0]),
        "sla_violation_rate": float(result.sla_violation_rate[0]),
        "latency_excess": float(result.latency_excess[0]),
        "utilization": float(result.utilization[0]),
        "imbalance": float(result.imbalance[0]),
    }
