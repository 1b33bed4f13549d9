"""What two people approved for an hour, and a policy's decision brought inside it.

An envelope bounds the live controller: per hour, the most replicas, a non-spot floor, the
purchase options allowed and a ceiling on what the replicas cost per hour. The controller runs
the policy unbounded (so what it learns does not depend on the bounds) and applies `clamp`'s
result, which the simulator can replay alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from optimization.problem import PURCHASE_OPTIONS
from optimization.solution import Schedule
from policies.base import Decision, Observation, Policy, Pool
from policies.scenario import Scenario

# What a candidate's ceilings may add to its planned replicas (and spend): the controller sizes
# each step for the load it sees, which an hourly forecast quantile does not bound.
MARGINS = (1.0, 2.0, 3.0)


@dataclass(frozen=True, slots=True)
class Bounds:
    """One hour of an envelope."""

    max_replicas: int
    min_non_spot: int = 0
    options: tuple[str, ...] = PURCHASE_OPTIONS
    max_usd_per_hour: float | None = None  # the replicas' spend; None: no ceiling

    def __post_init__(self) -> None:
        if self.max_replicas < 0 or self.min_non_spot < 0:
            raise ValueError("max_replicas and min_non_spot must be >= 0")
        if self.max_usd_per_hour is not None and not 0 <= self.max_usd_per_hour < float("inf"):
            raise ValueError(
                f"max_usd_per_hour must be finite and >= 0, got {self.max_usd_per_hour}"
            )
        if not self.options or set(self.options) - set(PURCHASE_OPTIONS):
            raise ValueError(f"options must be a non-empty subset of {PURCHASE_OPTIONS}")


@dataclass(frozen=True, slots=True)
class Envelope:
    """What an approval approves and the controller acts inside: a variant and its hours."""

    variant: str | None  # the model variant served; None: the workload's default
    hours: tuple[Bounds, ...]

    def to_json(self) -> dict[str, Any]:
        """As a plan stores and the API shows it: the variant, and each hour's bounds."""
        return {
            "variant": self.variant,
            "hours": [
                {
                    "max_replicas": b.max_replicas,
                    "min_non_spot": b.min_non_spot,
                    "max_usd_per_hour": b.max_usd_per_hour,
                    "options": list(b.options),
                }
                for b in self.hours
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Envelope:
        """An envelope stored by `to_json`."""
        return cls(
            data.get("variant"),
            tuple(
                Bounds(
                    max_replicas=int(h["max_replicas"]),
                    min_non_spot=int(h["min_non_spot"]),
                    options=tuple(h["options"]),
                    max_usd_per_hour=h.get("max_usd_per_hour"),
                )
                for h in data["hours"]
            ),
        )

    def widened(self, margin: float) -> Envelope:
        """This envelope with its ceilings `margin` times as high (`widen`)."""
        return Envelope(self.variant, tuple(widen(self.hours, margin)))

    def roomier(self, than: Envelope) -> bool:
        """Whether this envelope differs from `than` only by ceilings at least as high.

        A replay inside `than` whose ceilings never bound is then the replay inside this one
        too: the same variant, floors and options clamp the same decisions, and the policy's
        random stream is the same.
        """
        if self.variant != than.variant or len(self.hours) != len(than.hours):
            return False
        for a, b in zip(self.hours, than.hours, strict=True):
            if (a.min_non_spot, a.options) != (b.min_non_spot, b.options):
                return False
            if a.max_replicas < b.max_replicas:
                return False
            if b.max_usd_per_hour is not None and (
                a.max_usd_per_hour is None or a.max_usd_per_hour < b.max_usd_per_hour
            ):
                return False
        return True


@dataclass(frozen=True, slots=True)
class Clamped:
    """The decision applied, the replicas the policy wanted, and what the bounds changed."""

    decision: Decision
    wanted: int
    note: str  # "" when the decision was inside the bounds
    capped: bool = False  # a ceiling (replicas or spend) took replicas away

    @property
    def over(self) -> bool:
        """The policy wanted more replicas than the hour allows: the envelope is too tight."""
        return self.wanted > sum(self.decision.desired.values())


def envelope_hours(schedule: Schedule, prices: Mapping[str, float] | None = None) -> list[Bounds]:
    """A plan candidate's schedule as an envelope: one `Bounds` per interval.

    Each interval's replicas are its ceiling and its non-spot replicas its floor; the purchase
    options the whole schedule uses are the ones allowed; with `prices` (offer name -> USD per
    replica-hour, as planned) what the interval's replicas cost is its spend ceiling. Offers
    are named "type/purchase_option".
    """
    option_of = [[(p.offer.rsplit("/", 1)[-1], p.count) for p in row] for row in schedule]
    used = {option for row in option_of for option, _ in row}
    allowed = tuple(o for o in PURCHASE_OPTIONS if o in used) or PURCHASE_OPTIONS
    priced = prices is not None and all(p.offer in prices for row in schedule for p in row)
    return [
        Bounds(
            max_replicas=sum(n for _, n in row),
            min_non_spot=sum(n for option, n in row if option != "spot"),
            options=allowed,
            max_usd_per_hour=(
                round(sum(prices[p.offer] * p.count for p in placements), 6)
                if priced and prices is not None
                else None
            ),
        )
        for row, placements in zip(option_of, schedule, strict=True)
    ]


def widen(hours: Sequence[Bounds], margin: float) -> list[Bounds]:
    """`hours` with each ceiling (replicas, rounded up, and spend) `margin` times as high."""
    return [
        replace(
            b,
            max_replicas=math.ceil(b.max_replicas * margin - 1e-9),
            max_usd_per_hour=(
                None if b.max_usd_per_hour is None else round(b.max_usd_per_hour * margin, 6)
            ),
        )
        for b in hours
    ]


def main_variant(schedule: Schedule) -> str | None:
    """The model variant most of a schedule's replica-intervals run, or None when it has none."""
    counts: dict[str, int] = {}
    for row in schedule:
        for p in row:
            counts[p.variant] = counts.get(p.variant, 0) + p.count
    return max(counts, key=lambda name: (counts[name], name)) if counts else None


def by_hour_of_day(hours: Sequence[Bounds], first_hour_utc: int) -> dict[int, Bounds]:
    """An hourly envelope keyed by hour of the day (0-23, UTC), its first hour at `first_hour_utc`.

    How past days are replayed inside a day-ahead plan.
    """
    return {(first_hour_utc + h) % 24: bounds for h, bounds in enumerate(hours[:24])}


def clamp(
    decision: Decision,
    bounds: Bounds,
    cost_per_rps: Mapping[Pool, float],
    price_per_hour: Mapping[Pool, float] | None = None,
) -> Clamped:
    """`decision` inside `bounds`; `cost_per_rps` ranks pools (USD per hour per rps carried).

    Replicas in a pool whose option is not allowed move to the cheapest allowed pool; spot
    replicas become non-spot up to the floor (more only if the policy asked for fewer in all);
    above the ceiling, the dearest pools give replicas back first, never below the floor; then,
    with `price_per_hour` (USD per replica-hour now), above the spend ceiling the dearest
    replicas go first, never below the floor (the floor is the SRE's: it wins over the spend).
    """
    desired = {pool: n for pool, n in decision.desired.items() if n > 0}
    wanted = sum(desired.values())
    notes = []
    allowed = sorted(
        (pool for pool in cost_per_rps if pool[1] in bounds.options), key=cost_per_rps.__getitem__
    )
    if not allowed:
        raise ValueError(f"bounds: no pool offers {bounds.options}")
    for pool in [p for p in desired if p[1] not in bounds.options]:
        desired[allowed[0]] = desired.get(allowed[0], 0) + desired.pop(pool)
        notes.append(f"{pool[1]} is not approved: moved to {allowed[0][1]}")
    non_spot = [p for p in allowed if p[1] != "spot"]
    short = bounds.min_non_spot - sum(n for p, n in desired.items() if p[1] != "spot")
    if short > 0 and non_spot:
        convert = short  # spot replicas become non-spot ones first, so the total stays
        for pool in sorted((p for p in desired if p[1] == "spot"), key=cost_per_rps.__getitem__):
            moved = min(convert, desired[pool])
            desired[pool] -= moved
            convert -= moved
        desired[non_spot[0]] = desired.get(non_spot[0], 0) + short
        notes.append(f"non-spot floor {bounds.min_non_spot}")
    excess = sum(desired.values()) - bounds.max_replicas
    capped = excess > 0
    if excess > 0:
        for pool in sorted(desired, key=cost_per_rps.__getitem__, reverse=True):
            floor = _floor_share(pool, desired, bounds.min_non_spot)
            give = min(excess, desired[pool] - floor)
            desired[pool] -= give
            excess -= give
        notes.append(f"wanted {wanted} replicas, {bounds.max_replicas} approved for the hour")
    ceiling = bounds.max_usd_per_hour
    if ceiling is not None and price_per_hour is not None:
        spend = sum(n * price_per_hour[pool] for pool, n in desired.items())
        if spend > ceiling + 1e-9:
            capped = True
            before = spend
            for pool in sorted(desired, key=price_per_hour.__getitem__, reverse=True):
                while spend > ceiling + 1e-9 and desired[pool] > _floor_share(
                    pool, desired, bounds.min_non_spot
                ):
                    desired[pool] -= 1
                    spend -= price_per_hour[pool]
            notes.append(f"${before:.2f}/h wanted, ${ceiling:.2f}/h approved")
    clamped = {pool: desired.get(pool, 0) for pool in {*decision.desired, *desired}}
    return Clamped(Decision(clamped, decision.reserve), wanted, "; ".join(notes), capped)


def _floor_share(pool: Pool, desired: Mapping[Pool, int], min_non_spot: int) -> int:
    """Replicas of `pool` the ceiling may not take: its part of the non-spot floor."""
    if pool[1] == "spot":
        return 0
    others = sum(n for p, n in desired.items() if p[1] != "spot" and p != pool)
    return max(0, min(desired[pool], min_non_spot - others))


def price_per_hour(scenario: Scenario, variant: str) -> dict[Pool, float]:
    """USD per replica-hour now, for every pool of `variant` (the spend ceiling's prices)."""
    return {
        (p.instance_type, option): scenario.instance(p.instance_type).price_per_hour_usd(option)
        for p in scenario.variant(variant).profiles
        for option in PURCHASE_OPTIONS
    }


def cost_per_rps(scenario: Scenario, variant: str) -> dict[Pool, float]:
    """USD per hour per rps carried, for every pool of `variant` (how `clamp` ranks pools)."""
    capacity = {p.instance_type: p.capacity_rps for p in scenario.variant(variant).profiles}
    return {
        pool: price / capacity[pool[0]] for pool, price in price_per_hour(scenario, variant).items()
    }


class Enveloped:
    """A policy whose every decision is brought inside `bounds_at(t)`, as the controller does.

    The policy decides unbounded (what it learns does not depend on the bounds); the step gets
    the clamped decision. `bounds_at` answers None where nothing bounds the step.
    """

    def __init__(
        self, policy: Policy, bounds_at: Callable[[int], Bounds | None], scenario: Scenario
    ):
        self.inner = policy
        self.bounds_at = bounds_at
        self.name = policy.name
        self.variant = policy.variant
        self.spills = policy.spills
        self.batch_option = policy.batch_option
        self.serverless_memory_mb = policy.serverless_memory_mb
        self.zero_boot = policy.zero_boot
        self.routes_on_the_draw = getattr(policy, "routes_on_the_draw", False)
        self.cost_per_rps = cost_per_rps(scenario, policy.variant)
        self.price_per_hour = price_per_hour(scenario, policy.variant)
        self.capped_steps = 0  # steps whose ceilings (replicas or spend) took replicas away

    @classmethod
    def by_hour_of_day(
        cls,
        policy: Policy,
        hours: Mapping[int, Bounds],
        *,
        start_s: float,
        step_s: int,
        scenario: Scenario,
    ) -> Enveloped:
        """`policy` inside a day-ahead envelope keyed by hour of the day (`by_hour_of_day`).

        The load's first step starts `start_s` seconds after midnight UTC.
        """

        def bounds_at(t: int) -> Bounds | None:
            return hours.get(int((start_s + t * step_s) // 3600) % 24)

        return cls(policy, bounds_at, scenario)

    def decide(self, obs: Observation) -> Decision:
        """The inner policy's decision, clamped to the step's bounds."""
        decision, clamped = self.step(obs)
        return decision if clamped is None else clamped.decision

    def step(self, obs: Observation) -> tuple[Decision, Clamped | None]:
        """(the inner policy's unbounded decision, it clamped; None where nothing bounds t)."""
        decision = self.inner.decide(obs)
        bounds = self.bounds_at(obs.t)
        if bounds is None:
            return decision, None
        clamped = clamp(decision, bounds, self.cost_per_rps, self.price_per_hour)
        self.capped_steps += clamped.capped
        return decision, clamped

    def state(self) -> dict[str, Any]:
        """The inner policy's state (the bounds hold none)."""
        return self.inner.state()

    def restore(self, state: dict[str, Any]) -> None:
        """Restore the inner policy."""
        self.inner.restore(state)
