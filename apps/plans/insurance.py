"""A plan's spot insurance: its candidates' spread over spot pools and their non-spot floor.

A thin shell over `policies.insurance`, in the workload's own world (`scenario_for`, serving
the candidate's variant, as the live controller does) and with the ballast policy's choices:
spot pools up to `SAFE_SPOT_HAZARD_PER_HOUR`, functions at the memory `size_memory` gives.
For each candidate, over the load it was planned for (the demand at its forecast quantile,
interval by interval):

- what spreading its spot replicas over the cheap pools (none above half the capacity) and a
  non-spot floor cost per day beyond keeping everything in the cheapest pool
  (`insurance_usd_per_day`);
- the floor per interval (`floor_replicas`): what functions could not take if the largest pool
  were reclaimed at that load. The candidate's envelope keeps at least that floor on
  non-spot (the larger of it and the planned non-spot replicas, the guardrails' base among
  them), with its ceilings raised to hold it, where the guardrails allow on-demand; where they
  do not, no floor is bought and `uncovered_replicas_max` says what is missing.

A candidate without spot in its envelope needs no insurance: it is all zeros.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from apps.workloads.models import Workload
from apps.workloads.world import WorldError, scenario_for
from optimization.guardrails import Guardrails
from optimization.problem import PURCHASE_OPTIONS, DemandForecast
from policies.ballast import SAFE_SPOT_HAZARD_PER_HOUR
from policies.candidate import PlanCandidate
from policies.envelope import Bounds, Envelope
from policies.insurance import (
    Spread,
    floor_replicas,
    insurance_usd_per_day,
    spill_capacity_rps,
    spread_for,
)
from policies.scenario import Scenario
from policies.serverless import size_memory

STEP_S = 60  # the world's step; nothing here depends on it


def insure_candidates(
    workload: Workload,
    demand: DemandForecast,
    candidates: Sequence[PlanCandidate],
    rules: Guardrails,
) -> tuple[list[PlanCandidate], list[dict[str, Any]]]:
    """(each candidate with its envelope's floor raised, each candidate's insurance).

    The insurance is one dict per candidate, in their order (`insurance_record`); without a
    world for the workload every candidate is left as it is, its insurance saying why.
    """
    try:
        world = scenario_for(workload, step_s=STEP_S, peak_rps=float(np.max(demand.rps)))
    except WorldError as exc:
        return list(candidates), [empty(f"no insurance: {exc}") for _ in candidates]
    allowed = rules.allowed_purchase_options or PURCHASE_OPTIONS
    out, records = [], []
    for candidate in candidates:
        insured, record = insure_candidate(world, demand, candidate, "on_demand" in allowed)
        out.append(insured)
        records.append(record)
    return out, records


def insure_candidate(
    world: Scenario, demand: DemandForecast, candidate: PlanCandidate, floor_allowed: bool
) -> tuple[PlanCandidate, dict[str, Any]]:
    """One candidate with its envelope's floor raised, and its insurance (see the module)."""
    variant = candidate.envelope.variant
    if variant is None or variant not in {v.name for v in world.variants}:
        return candidate, empty("no insurance: the candidate runs no replicas of a known variant")
    if not any("spot" in b.options for b in candidate.envelope.hours):
        return candidate, empty("no spot in this candidate: nothing to insure")
    world = world.serving(variant)
    try:
        spread = spread_for(world, variant, SAFE_SPOT_HAZARD_PER_HOUR)
    except ValueError as exc:
        return candidate, empty(f"no insurance: {exc}")
    if not spread.pools:
        return candidate, empty("no spot pool is safe enough: the candidate's spot is unused")
    loads = planned_load_rps(demand, candidate)
    memory_mb = size_memory(world.variant(variant), world.serverless, world.latency_target_ms)
    spill_rps = spill_capacity_rps(world, variant, memory_mb)
    needed = [floor_replicas(spread, load, spill_rps) for load in loads]
    floors = needed if floor_allowed else [0] * len(loads)
    cost = insurance_usd_per_day(spread, loads, spill_rps if floor_allowed else math.inf)
    record = insurance_record(spread, cost, floors)
    record["uncovered_replicas_max"] = 0 if floor_allowed else max(needed, default=0)
    if not floor_allowed and record["uncovered_replicas_max"]:
        record["note"] = "the guardrails allow no on-demand: no floor carries a lost pool's load"
    return raise_floor(candidate, floors, spread), record


def planned_load_rps(demand: DemandForecast, candidate: PlanCandidate) -> list[float]:
    """The load per interval the candidate was planned for: the demand at its quantile."""
    level = candidate.demand_quantile
    rps = demand.rps_at(level if level is not None else demand.levels[-1])
    return [float(v) for v in rps]


def insurance_record(spread: Spread, cost: dict[str, float], floors: list[int]) -> dict[str, Any]:
    """The insurance as a plan stores it and the API shows it."""
    return {
        "spread_usd_per_day": cost["spread_usd"],
        "floor_usd_per_day": cost["floor_usd"],
        "total_usd_per_day": cost["total_usd"],
        "floor_replicas_max": max(floors, default=0),
        "floor_replicas": floors,
        "largest_pool_share": round(spread.largest_share(), 4),
        "pools": [f"{name}/{option}" for name, option in spread.pools],
        "floor_pool": "/".join(spread.fallback),
        "uncovered_replicas_max": 0,
        "note": "",
    }


def empty(note: str) -> dict[str, Any]:
    """An insurance of nothing, saying why."""
    return {
        "spread_usd_per_day": 0.0,
        "floor_usd_per_day": 0.0,
        "total_usd_per_day": 0.0,
        "floor_replicas_max": 0,
        "floor_replicas": [],
        "largest_pool_share": 0.0,
        "pools": [],
        "floor_pool": "",
        "uncovered_replicas_max": 0,
        "note": note,
    }


def raise_floor(candidate: PlanCandidate, floors: Sequence[int], spread: Spread) -> PlanCandidate:
    """`candidate` whose envelope keeps at least `floors` non-spot replicas, interval by interval.

    Where the floor is above the planned non-spot replicas, on-demand is allowed, the replica
    ceiling holds the floor, and the spend ceiling grows by what the extra non-spot replicas
    cost over the cheapest spot pool's (the controller's floor turns spot replicas into
    non-spot ones, the total unchanged): the floor's cost is part of what is approved.
    """
    fallback_usd = spread.price_per_hour[spread.fallback]
    premium_usd = max(0.0, fallback_usd - min(spread.price_per_hour[p] for p in spread.pools))
    hours = list(candidate.envelope.hours)
    changed = False
    for i, (bounds, floor) in enumerate(zip(hours, floors, strict=False)):
        extra = floor - bounds.min_non_spot
        if extra <= 0:
            continue
        hours[i] = raised(bounds, floor, extra * premium_usd)
        changed = True
    if not changed:
        return candidate
    envelope = Envelope(candidate.envelope.variant, tuple(hours))
    return replace(candidate, envelope=envelope)


def raised(bounds: Bounds, floor: int, extra_usd_per_hour: float) -> Bounds:
    """One interval's bounds with a non-spot floor of `floor` (see `raise_floor`)."""
    options = tuple(o for o in PURCHASE_OPTIONS if o in bounds.options or o == "on_demand")
    spend = bounds.max_usd_per_hour
    return replace(
        bounds,
        min_non_spot=floor,
        max_replicas=max(bounds.max_replicas, floor),
        options=options,
        max_usd_per_hour=None if spend is None else round(spend + extra_usd_per_hour, 6),
    )
