"""Replicas per (instance type, purchase option): boot delays, billing and spot interruptions."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from optimization.purchase import OPTION, PURCHASE_OPTIONS
from policies.base import Pool
from policies.scenario import InstanceType


@dataclass(frozen=True, slots=True)
class BillingRules:
    """How replicas are charged and interrupted (docs/cost-model.md sections 3 and 4)."""

    step_s: int
    min_billed_s: float = 60.0  # per-second billing with a 60 s minimum [S]
    spot_notice_s: float = 120.0  # [S]
    boot_override_s: float | None = None  # the oracle's clairvoyance: 0 s boots


class Cluster:
    """The replicas of one replay; mutable, advanced one step at a time by the replay loop.

    A replica is billed from its launch (boot included) to its termination, per second with a
    60 s minimum. Spot replicas are interrupted at the offer's hourly hazard; an interrupted one
    gets the 2-minute notice, keeps serving until it ends and is replaced at once (as an EC2
    Auto Scaling group with capacity rebalancing does), so the replacement boots inside the
    notice. Reserved replicas are billed from their commitment to the end of the horizon,
    whether they serve or not.
    """

    def __init__(
        self,
        types: Mapping[str, InstanceType],
        rules: BillingRules,
        n_steps: int,
        rng: np.random.Generator,
    ) -> None:
        self.types = dict(types)
        self.rules = rules
        self.n_steps = n_steps
        self.rng = rng
        self.cohorts: dict[Pool, list[list[int]]] = {}  # [launch_step, ready_step, count]
        self.doomed: dict[Pool, list[list[int]]] = {}  # [end_step, launch_step, ready_step, n]
        self.reserved: dict[str, list[list[int]]] = {}  # type -> [ready_step, count] per commitment
        self.cost_by_option = dict.fromkeys(PURCHASE_OPTIONS, 0.0)
        self.interruptions = 0
        self.actions = 0

    def boot_steps(self, instance_type: str) -> int:
        """Steps from a launch to serving (0 with the oracle's override)."""
        boot = self.rules.boot_override_s
        if boot is None:
            boot = self.types[instance_type].boot_s
        return math.ceil(boot / self.rules.step_s)

    def begin_step(self, t: int) -> None:
        """End replicas whose notice ran out, then draw this step's spot interruption notices."""
        for pool, doomed in self.doomed.items():
            for cohort in [c for c in doomed if c[0] <= t]:
                doomed.remove(cohort)
                self._bill_end(pool, t, cohort[1], cohort[3])
        notice_steps = max(1, math.ceil(self.rules.spot_notice_s / self.rules.step_s))
        for pool, cohorts in self.cohorts.items():
            if not OPTION[pool[1]].interruptible or not cohorts:
                continue
            hazard = self.types[pool[0]].spot_hazard_per_hour
            p = -math.expm1(-hazard * self.rules.step_s / 3600)
            for cohort in cohorts:
                hit = int(self.rng.binomial(cohort[2], p))
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
        price = self.types[pool[0]].price_per_hour_usd(pool[1])
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

    def bill_step(self) -> None:
        """Charge one step for every live replica (pending, ready or under notice)."""
        step_h = self.rules.step_s / 3600
        for pool, cohorts in self.cohorts.items():
            n = sum(c[2] for c in cohorts) + sum(c[3] for c in self.doomed.get(pool, []))
            if n:
                price = self.types[pool[0]].price_per_hour_usd(pool[1])
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
