"""Replicas per (instance type, purchase option): boot delays, billing and the spot market."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from optimization.purchase import OPTION, PURCHASE_OPTIONS
from policies.base import Pool
from policies.scenario import InstanceType, SpotMarket


@dataclass(frozen=True, slots=True)
class BillingRules:
    """How replicas are charged and interrupted (docs/cost-model.md sections 3 and 4)."""

    step_s: int
    min_billed_s: float = 60.0  # per-second billing with a 60 s minimum [S]
    spot_notice_s: float = 120.0  # [S]
    boot_override_s: float | None = None  # the oracle's clairvoyance: 0 s boots


class Market:
    """The spot market one replay meets, drawn once per seed so every policy meets the same one.

    Per spot pool (instance type): the steps a reclaim wave strikes, the steps a capacity
    shortage begins (a wave's included) and each day's price factor (`SpotMarket`). What a
    wave takes depends on the replicas a policy holds there, so only the strike is drawn here;
    `stress_steps` are the steps of each day's peak load, where the largest pool goes whole.
    """

    def __init__(
        self,
        types: Mapping[str, InstanceType],
        spec: SpotMarket,
        step_s: int,
        n_steps: int,
        rng: np.random.Generator,
        stress_steps: frozenset[int] = frozenset(),
    ) -> None:
        self.spec = spec
        self.stress_steps = stress_steps if spec.stress else frozenset()
        self.shortage_steps = math.ceil(spec.shortage_s / step_s) if spec.enabled else 0
        step_h = step_s / 3600
        day_steps = max(1, 86400 // step_s)
        self.waves: dict[str, frozenset[int]] = {}
        self.short_from: dict[str, np.ndarray] = {}
        self.price_by_day: dict[str, np.ndarray] = {}
        self.day_steps = day_steps
        for name in sorted(types):  # sorted: the same draws whatever the mapping's order
            hazard = types[name].spot_hazard_per_hour
            wave_rate = hazard * spec.wave_share / spec.wave_fraction if spec.wave_fraction else 0.0
            p_wave = -math.expm1(-wave_rate * step_h) if spec.enabled else 0.0
            p_short = -math.expm1(-spec.shortage_per_hour * step_h) if spec.enabled else 0.0
            wave = rng.random(n_steps) < p_wave
            short = wave | (rng.random(n_steps) < p_short)
            self.waves[name] = frozenset(np.flatnonzero(wave).tolist())
            self.short_from[name] = np.flatnonzero(short)
            sigma = spec.price_sigma_per_day if spec.enabled else 0.0
            days = n_steps // day_steps + 1
            self.price_by_day[name] = np.exp(rng.normal(-(sigma**2) / 2, sigma, days))

    def independent_hazard(self, hazard_per_hour: float) -> float:
        """What of a band's hazard is left to replica-by-replica reclaims."""
        return (
            hazard_per_hour * (1 - self.spec.wave_share) if self.spec.enabled else hazard_per_hour
        )

    def short(self, instance_type: str, t: int) -> bool:
        """Whether spot launches of `instance_type` find no capacity in step t."""
        starts = self.short_from.get(instance_type)
        if starts is None or not len(starts):
            return False
        i = int(np.searchsorted(starts, t, side="right")) - 1
        return i >= 0 and t - int(starts[i]) < self.shortage_steps

    def force_shortage(self, instance_type: str, t: int) -> None:
        """Start a shortage of `instance_type`'s spot capacity at step t (the stress wave's)."""
        starts = self.short_from.get(instance_type, np.array([], dtype=np.int64))
        self.short_from[instance_type] = np.union1d(starts, [t]).astype(np.int64)

    def spot_price_factor(self, instance_type: str, t: int) -> float:
        """The spot price in step t over the catalog's."""
        by_day = self.price_by_day.get(instance_type)
        return 1.0 if by_day is None else float(by_day[min(t // self.day_steps, len(by_day) - 1)])


class Cluster:
    """The replicas of one replay; mutable, advanced one step at a time by the replay loop.

    A replica is billed from its launch (boot included) to its termination, per second with a
    60 s minimum. Spot replicas are interrupted at the offer's hourly hazard, one by one and in
    the market's waves (`Market`); an interrupted one gets the 2-minute notice and keeps serving
    until it ends. The policy's next reconcile asks for a replacement (as an EC2 Auto Scaling
    group with capacity rebalancing does), which boots inside the notice unless the pool is
    short of capacity: then the launch fails (`launch_failures`) and the pool stays short until
    the policy asks elsewhere or capacity returns. Spot replicas are billed at the market's
    price of the step. Reserved replicas are billed from their commitment to the end of the
    horizon, whether they serve or not.
    """

    def __init__(
        self,
        types: Mapping[str, InstanceType],
        rules: BillingRules,
        n_steps: int,
        rng: np.random.Generator,
        market: Market | None = None,
    ) -> None:
        self.types = dict(types)
        self.rules = rules
        self.n_steps = n_steps
        self.rng = rng
        self.market = market or Market(
            types, SpotMarket.calm(), rules.step_s, n_steps, np.random.default_rng(0)
        )
        self.cohorts: dict[Pool, list[list[int]]] = {}  # [launch_step, ready_step, count]
        self.doomed: dict[Pool, list[list[int]]] = {}  # [end_step, launch_step, ready_step, n]
        self.reserved: dict[str, list[list[int]]] = {}  # type -> [ready_step, count] per commitment
        self.cost_by_option = dict.fromkeys(PURCHASE_OPTIONS, 0.0)
        self.interruptions = 0
        self.waves = 0
        self.stress_steps: list[int] = []  # steps the stress wave struck this cluster
        self.launch_failures = 0
        self.actions = 0

    def boot_steps(self, instance_type: str) -> int:
        """Steps from a launch to serving (0 with the oracle's override)."""
        boot = self.rules.boot_override_s
        if boot is None:
            boot = self.types[instance_type].boot_s
        return math.ceil(boot / self.rules.step_s)

    def begin_step(self, t: int) -> None:
        """End replicas whose notice ran out, then draw this step's reclaims (waves included)."""
        for pool, doomed in self.doomed.items():
            for cohort in [c for c in doomed if c[0] <= t]:
                doomed.remove(cohort)
                self._bill_end(pool, t, cohort[1], cohort[3])
        notice_steps = max(1, math.ceil(self.rules.spot_notice_s / self.rules.step_s))
        spot = {
            pool: cohorts
            for pool, cohorts in self.cohorts.items()
            if OPTION[pool[1]].interruptible and cohorts
        }
        largest = None
        if t in self.market.stress_steps and spot:
            largest = max(spot, key=lambda pool: sum(c[2] for c in spot[pool]))
        for pool, cohorts in spot.items():
            if pool == largest:
                share = 1.0
            elif t in self.market.waves.get(pool[0], ()):
                share = self.market.spec.wave_fraction
            else:
                share = 0.0
            hazard = self.market.independent_hazard(self.types[pool[0]].spot_hazard_per_hour)
            p = -math.expm1(-hazard * self.rules.step_s / 3600)
            if share > 0:
                self.waves += 1
                if pool == largest:  # the stress wave's capacity is gone for a while too
                    self.market.force_shortage(pool[0], t)
                    self.stress_steps.append(t)
            for cohort in cohorts:
                hit = int(self.rng.binomial(cohort[2], share)) if share > 0 else 0
                hit += int(self.rng.binomial(cohort[2] - hit, p))
                if hit:
                    cohort[2] -= hit
                    self.interruptions += hit
                    self.doomed.setdefault(pool, []).append(
                        [t + notice_steps, cohort[0], cohort[1], hit]
                    )
            cohorts[:] = [c for c in cohorts if c[2] > 0]

    def commit_reserved(self, t: int, instance_type: str, count: int) -> None:
        """Buy `count` reserved replicas at step t, billed from now to the horizon's end."""
        if count <= 0:
            return
        ready = t if t == 0 else t + self.boot_steps(instance_type)
        self.reserved.setdefault(instance_type, []).append([ready, count])
        hours = (self.n_steps - t) * self.rules.step_s / 3600
        price = self.types[instance_type].reserved_per_hour_usd
        self.cost_by_option["reserved"] += count * price * hours
        self.actions += 1

    def reconcile(self, t: int, desired: Mapping[Pool, int], *, warm: bool = False) -> None:
        """Launch or terminate so each pool holds its desired count; `warm` starts them ready."""
        for pool, want in desired.items():
            cohorts = self.cohorts.setdefault(pool, [])
            have = sum(c[2] for c in cohorts)
            want = max(0, int(want))
            if want > have and self._short(pool, t):
                self.launch_failures += want - have
                want = have
            if want > have:
                ready = t if warm else t + self.boot_steps(pool[0])
                if cohorts and cohorts[-1][0] == t:
                    cohorts[-1][2] += want - have
                else:
                    cohorts.append([t, ready, want - have])
            elif want < have:
                self._terminate(pool, t, have - want)
            if want != have:
                self.actions += 1

    def _short(self, pool: Pool, t: int) -> bool:
        return OPTION[pool[1]].interruptible and self.market.short(pool[0], t)

    def price_per_hour(self, pool: Pool, t: int) -> float:
        """What a replica of `pool` costs per hour in step t (spot at the market's price)."""
        price = self.types[pool[0]].price_per_hour_usd(pool[1])
        if OPTION[pool[1]].interruptible:
            price *= self.market.spot_price_factor(pool[0], t)
        return price

    def _terminate(self, pool: Pool, t: int, n: int) -> None:
        cohorts = self.cohorts[pool]
        # Pending replicas go first (they serve nothing yet), then the newest ready ones.
        order = sorted(range(len(cohorts)), key=lambda i: (cohorts[i][1] <= t, -cohorts[i][0]))
        for i in order:
            take = min(n, cohorts[i][2])
            cohorts[i][2] -= take
            self._bill_end(pool, t, cohorts[i][0], take)
            n -= take
            if n == 0:
                break
        cohorts[:] = [c for c in cohorts if c[2] > 0]

    def _bill_end(self, pool: Pool, t: int, launch: int, n: int) -> None:
        lifetime_s = (t - launch) * self.rules.step_s
        short_s = max(0.0, self.rules.min_billed_s - lifetime_s)
        price = self.price_per_hour(pool, min(t, self.n_steps - 1))
        self.cost_by_option[pool[1]] += n * short_s * price / 3600

    def ready_by_type(self, t: int) -> dict[str, int]:
        """Replicas serving in step t per instance type: ready, under notice, or reserved."""
        out: dict[str, int] = {}
        for (name, _), cohorts in self.cohorts.items():
            out[name] = out.get(name, 0) + sum(c[2] for c in cohorts if c[1] <= t)
        for (name, _), doomed in self.doomed.items():
            out[name] = out.get(name, 0) + sum(c[3] for c in doomed if c[2] <= t)
        for name, commitments in self.reserved.items():
            out[name] = out.get(name, 0) + sum(n for ready, n in commitments if ready <= t)
        return out

    def counts(self, t: int) -> dict[Pool, tuple[int, int]]:
        """(ready, pending) replicas per pool, without those under an interruption notice."""
        return {
            pool: (
                sum(c[2] for c in cohorts if c[1] <= t),
                sum(c[2] for c in cohorts if c[1] > t),
            )
            for pool, cohorts in self.cohorts.items()
        }

    def reserved_count(self, instance_type: str) -> int:
        """Reserved replicas committed on a type."""
        return sum(n for _, n in self.reserved.get(instance_type, []))

    def bill_step(self, t: int) -> None:
        """Charge step t for every live replica (pending, ready or under notice)."""
        step_h = self.rules.step_s / 3600
        for pool, cohorts in self.cohorts.items():
            n = sum(c[2] for c in cohorts) + sum(c[3] for c in self.doomed.get(pool, []))
            if n:
                price = self.price_per_hour(pool, t)
                self.cost_by_option[pool[1]] += n * price * step_h

    def finish(self) -> None:
        """Terminate everything at the horizon's end (the 60 s minimum still applies)."""
        t = self.n_steps
        for pool in list(self.cohorts):
            n = sum(c[2] for c in self.cohorts[pool])
            if n:
                self._terminate(pool, t, n)
        for pool, doomed in self.doomed.items():
            for cohort in doomed:
                self._bill_end(pool, t, cohort[1], cohort[3])
            doomed.clear()
