"""Spot insurance: replicas spread over pools, and the non-spot floor a lost pool calls for.

A spot pool (one instance type's spot capacity in the region) is reclaimed together: a wave
takes a share of it at once and the pool then has no capacity for a while (`SpotMarket`). Two
things keep an online service within its SLA through that, as Karpenter and EC2 Auto Scaling
groups with several instance types do:

- Spread: the spot replicas are split over the spot pools whose price per request carried is
  within `SPREAD_TOLERANCE` of the cheapest, of the same size class (a replica carries within
  `SIZE_TOLERANCE` of the cheapest pool's, so a plan's replica ceiling means the same in every
  pool), no pool holding more than `max_pool_share` of the capacity (price-capacity-optimized:
  among the cheap pools, never all eggs in one). A pool whose launch just failed is left out
  for `UNAVAILABLE_S` (Karpenter's unavailable-offerings cache: 3 minutes), its share moving to
  the others, and to the cheapest on-demand pool when no spot pool is left.
- Floor: a reclaimed pool's replicas serve through the 2-minute notice while the controller
  asks for their replacements; the failed launch in the reclaimed pool is seen a step later
  and the replacements go to the other pools. Where they boot before the notice runs out
  (a CPU type: one step to see, 60 s to boot, inside 120 s), nothing is lost and no floor is
  needed. Where they cannot (a GPU type boots in 240 s), the pool's load goes to functions
  (`policies.routing`) for the gap, onto cold instances: every request of the cold start's
  ramp is late or, beyond the account's concurrency, refused (`simulation.serverless`), and
  beyond what the concurrency carries steadily, refused all along. `floor_replicas` sizes the
  non-spot replicas that keep those requests under `WAVE_MAX_LATE` of the `WAVE_WINDOW_S`
  after the wave's notice, at a load.

What both cost beyond putting everything in the cheapest spot pool is the insurance, per day
(`insurance_usd_per_day`). `insure_candidate` prices it for a plan's candidate and raises the
candidate's envelope to hold the floor: the plans app does so for every plan it builds (and
shows the insurance beside it), and the simulator's deployed ballast for every plan it replays.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from optimization.problem import PURCHASE_OPTIONS, DemandForecast
from policies.base import Pool
from policies.candidate import PlanCandidate
from policies.envelope import Bounds, Envelope
from policies.scenario import Scenario
from policies.serverless import duration_ms, size_memory
from policies.sizing import router_max_late, sla_reachable

SPREAD_TOLERANCE = 1.25  # price per rps within 25 % of the cheapest spot pool's
SIZE_TOLERANCE = 0.25  # capacity per replica within 25 % of the cheapest pool's
MAX_POOL_SHARE = 0.5  # no spot pool carries more than half the spot capacity
UNAVAILABLE_S = 180.0  # Karpenter's unavailable-offerings cache TTL for capacity errors
SAFE_SPOT_HAZARD_PER_HOUR = 3.1e-4  # up to the 15-20 % band (docs/cost-model.md section 3)
SPILL_SAFETY = 0.8  # what of the functions' concurrency a spill may count on
WAVE_WINDOW_S = 600.0  # "through the wave": the 10 minutes from its notice
WAVE_MAX_LATE = 0.005  # half the 1 % an SRE allows through it, for the model's approximations


@dataclass(frozen=True, slots=True)
class Spread:
    """The spot pools a variant spreads over, each with its capacity per replica and price."""

    pools: tuple[Pool, ...]  # cheapest per rps first
    capacity_rps: Mapping[Pool, float]  # saturation throughput of one replica
    price_per_hour: Mapping[Pool, float]
    fallback: Pool  # the cheapest non-spot pool: where the floor and a spot drought go
    max_pool_share: float = MAX_POOL_SHARE
    gap_s: float = 0.0  # how long a reclaimed pool's load waits for replacements elsewhere
    cold_start_s: float = 0.0  # the functions' cold start, which a spill to them meets

    def split(self, capacity_rps: float, unavailable: Iterable[Pool] = ()) -> dict[Pool, int]:
        """Replicas per pool carrying at least `capacity_rps`, each pool within its share.

        Replicas are added one at a time to the available pool furthest below its share of the
        capacity so far (cheapest first on ties), until the capacity is reached: at most one
        replica's worth above it. Without an available spot pool it all goes to `fallback`.
        """
        out = dict.fromkeys(self.pools, 0)
        out.setdefault(self.fallback, 0)
        if capacity_rps <= 0:
            return out
        gone = set(unavailable)
        pools = [pool for pool in self.pools if pool not in gone]
        if not pools:
            out[self.fallback] = math.ceil(capacity_rps / self.capacity_rps[self.fallback] - 1e-9)
            return out
        share = max(self.max_pool_share, 1 / len(pools))
        carried = 0.0
        while carried < capacity_rps - 1e-9:
            pool = min(
                pools,
                key=lambda p: (
                    out[p] * self.capacity_rps[p] - share * capacity_rps,
                    pools.index(p),
                ),
            )
            out[pool] += 1
            carried += self.capacity_rps[pool]
        return out

    def largest_share(self, unavailable: Iterable[Pool] = ()) -> float:
        """The share of the spot capacity the largest pool carries once spread."""
        left = len([pool for pool in self.pools if pool not in set(unavailable)])
        return 1.0 if left <= 1 else max(self.max_pool_share, 1 / left)


def spread_for(
    scenario: Scenario,
    variant: str,
    max_hazard_per_hour: float,
    max_pool_share: float = MAX_POOL_SHARE,
) -> Spread:
    """The pools `variant` spreads its spot replicas over in `scenario` (see the module)."""
    spec = scenario.variant(variant)
    rows = []
    for name in scenario.online_types:
        itype, profile = scenario.instance(name), spec.profile(name)
        if not sla_reachable(profile, scenario, router_max_late(scenario, profile.service_ms)):
            continue
        rows.append((name, itype, profile.capacity_rps))
    if not rows:
        raise ValueError(f"variant {variant}: no instance type meets the SLA")
    capacity = {(name, o): cap for name, _, cap in rows for o in ("spot", "on_demand")}
    price = {
        (name, o): itype.price_per_hour_usd(o)
        for name, itype, _ in rows
        for o in ("spot", "on_demand")
    }
    fallback = min(((n, "on_demand") for n, _, _ in rows), key=lambda p: price[p] / capacity[p])
    spot = sorted(
        ((n, "spot") for n, itype, _ in rows if itype.spot_hazard_per_hour <= max_hazard_per_hour),
        key=lambda p: price[p] / capacity[p],
    )
    if not spot:
        return Spread((), capacity, price, fallback, max_pool_share)
    boot_s = max(scenario.instance(name).boot_s for name, _ in spot)
    # the failed launch is seen a step after the notice; the replacements then boot elsewhere
    gap_s = max(0.0, scenario.step_s + boot_s - scenario.spot_notice_s)
    best = spot[0]
    per_rps = price[best] / capacity[best]
    pools = tuple(
        p
        for p in spot
        if price[p] / capacity[p] <= per_rps * SPREAD_TOLERANCE
        and abs(capacity[p] / capacity[best] - 1) <= SIZE_TOLERANCE
    )
    cold_s = scenario.serverless.cold_start_s
    return Spread(pools, capacity, price, fallback, max_pool_share, gap_s, cold_s)


def spill_capacity_rps(scenario: Scenario, variant: str, memory_mb: int) -> float:
    """What functions can take at once: the account's concurrency over one request's duration."""
    seconds = duration_ms(scenario.variant(variant), memory_mb) / 1000
    return SPILL_SAFETY * scenario.serverless.max_concurrency / seconds


def floor_replicas(spread: Spread, load_rps: float, spill_rps: float) -> int:
    """Non-spot replicas so that losing the largest spot pool at `load_rps` stays served.

    With F rps on the floor, the largest pool carries its share of the rest; for the spread's
    gap that goes to functions: its cold ramp (`cold_start_s`) is late or refused, and what is
    over `spill_rps` (`spill_capacity_rps`) is refused for the whole gap. The floor is the
    fewest replicas keeping that under `WAVE_MAX_LATE` of the `WAVE_WINDOW_S`'s requests.
    """
    if spread.gap_s <= 0 or load_rps <= 0:
        return 0
    allowed = WAVE_MAX_LATE * load_rps * WAVE_WINDOW_S
    share = spread.largest_share()
    per_replica = spread.capacity_rps[spread.fallback]
    for floor in range(math.ceil(load_rps / per_replica - 1e-9) + 1):
        lost = share * max(0.0, load_rps - floor * per_replica)
        late = lost * min(spread.cold_start_s, spread.gap_s)
        late += max(0.0, lost - spill_rps) * spread.gap_s
        if late <= allowed:
            return floor
    return math.ceil(load_rps / per_replica - 1e-9)


def insurance_usd_per_day(
    spread: Spread, hourly_load_rps: Sequence[float], spill_rps: float
) -> dict[str, Any]:
    """What the spread and the floor cost over a day of hourly loads, beyond the cheapest pool.

    Each hour's load is carried at saturation (the same for every way of carrying it, so the
    difference is the insurance, not the sizing): all in the cheapest spot pool, against the
    spread plus the floor (the floor's replicas replace spot capacity, they do not add to it).
    Hours beyond 24 are averaged to a day.
    """
    if not hourly_load_rps or not spread.pools:
        return {"spread_usd": 0.0, "floor_usd": 0.0, "total_usd": 0.0, "floor_max": 0}
    best = spread.pools[0]
    cap_best, price_best = spread.capacity_rps[best], spread.price_per_hour[best]
    fb = spread.fallback

    def in_best(load: float) -> float:  # all of `load` in the cheapest spot pool
        return math.ceil(load / cap_best - 1e-9) * price_best

    spread_cost = floor_cost = 0.0
    floor_max = 0
    for load in hourly_load_rps:
        floor = floor_replicas(spread, load, spill_rps)
        floor_max = max(floor_max, floor)
        rest = max(0.0, load - floor * spread.capacity_rps[fb])
        floor_cost += floor * spread.price_per_hour[fb] - (in_best(load) - in_best(rest))
        split = spread.split(rest)
        spread_cost += sum(n * spread.price_per_hour[p] for p, n in split.items()) - in_best(rest)
    days = len(hourly_load_rps) / 24
    return {
        "spread_usd": round(spread_cost / days, 4),
        "floor_usd": round(floor_cost / days, 4),
        "total_usd": round((spread_cost + floor_cost) / days, 4),
        "floor_max": floor_max,
    }


def insure_candidate(
    world: Scenario, demand: DemandForecast, candidate: PlanCandidate, floor_allowed: bool
) -> tuple[PlanCandidate, dict[str, Any]]:
    """One candidate with its envelope's floor raised, and its insurance.

    Over the load the candidate was planned for (the demand at its forecast quantile, interval
    by interval), with the ballast policy's choices (spot pools up to
    `SAFE_SPOT_HAZARD_PER_HOUR`, functions at the memory `size_memory` gives): what the spread
    and the floor cost per day, and the floor per interval, which the envelope keeps on
    non-spot (the larger of it and the planned non-spot replicas) where `floor_allowed`.
    A candidate without spot in its envelope needs no insurance: it is all zeros.
    """
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
