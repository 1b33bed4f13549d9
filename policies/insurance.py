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
(`insurance_usd_per_day`): the plans app shows it beside each plan.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from policies.base import Pool
from policies.scenario import Scenario
from policies.serverless import duration_ms
from policies.sizing import router_max_late, sla_reachable

SPREAD_TOLERANCE = 1.25  # price per rps within 25 % of the cheapest spot pool's
SIZE_TOLERANCE = 0.25  # capacity per replica within 25 % of the cheapest pool's
MAX_POOL_SHARE = 0.5  # no spot pool carries more than half the spot capacity
UNAVAILABLE_S = 180.0  # Karpenter's unavailable-offerings cache TTL for capacity errors
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
) -> dict[str, float]:
    """What the spread and the floor cost over a day of hourly loads, beyond the cheapest pool.

    Each hour's load is carried at saturation (the same for every way of carrying it, so the
    difference is the insurance, not the sizing): all in the cheapest spot pool, against the
    spread plus the floor (the floor's replicas replace spot capacity, they do not add to it).
    Hours beyond 24 are averaged to a day.
    """
    if not hourly_load_rps or not spread.pools:
        return {"spread_usd": 0.0, "floor_usd": 0.0, "total_usd": 0.0, "floor_max": 0.0}
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
        "floor_max": float(floor_max),
    }
