"""The clairvoyant lower bound: knows every step's load, boots in 0 s, buys the cheapest capacity.

Each step gets the fewest replicas of the cheapest pool per unit of capacity (spot included)
that keep at most `oracle_max_violation` of that step's requests over the latency target, so
its cost is a lower bound on what any policy pays at (practically) zero violations. Capacity
is bought where it is cheapest: when the step's last replica would carry less than the
break-even rate of serverless functions (`serverless.break_even_rps`, about 18 rps), the
oracle leaves that share to functions instead, as the spill router sends it there; without
this a policy with functions could undercut the bound on sparse load. Batch on spot with
checkpoints.
"""

from __future__ import annotations

import math

import numpy as np

from policies.base import (
    Context,
    Decision,
    Observation,
    PlainState,
    cheapest_pool,
    decision_lead,
)
from policies.routing import trace_rise
from policies.scenario import Scenario, VariantProfile
from policies.serverless import break_even_rps, size_memory
from policies.sizing import SlaTable, expected_excess, replicas_for_sla, router_max_late


class Oracle(PlainState):
    """Exact per-step sizing from the future load."""

    name = "oracle"
    spills = True
    batch_option = "spot"
    serverless_memory_mb = 2048
    zero_boot = True
    routes_on_the_draw = True  # its serverless share is the perfect overflow (policies.routing)

    def __init__(self, ctx: Context):
        sc = ctx.scenario
        profile, even = self.buy_cheapest(sc)
        rps = ctx.clairvoyant_rps()
        plan = replicas_for_sla(rps, profile, sc, sc.oracle_max_violation, 1.0)
        table = SlaTable(
            profile, sc, router_max_late(sc, profile.service_ms), int(plan.max(initial=0)) + 1
        )
        carried = np.where(plan >= 2, table.max_rate_rps[np.maximum(plan - 2, 0)], 0.0)
        trim = (plan >= 1) & (rps - carried < even)
        self.plan = plan - trim

    def buy_cheapest(self, sc: Scenario) -> tuple[VariantProfile, float]:
        """Choose the cheapest pool and the functions' memory; (its profile, break-even rps)."""
        self.variant = sc.default_variant
        self.pool = cheapest_pool(sc, self.variant, ("on_demand", "spot"))
        spec = sc.variant(self.variant)
        self.serverless_memory_mb = size_memory(spec, sc.serverless, sc.latency_target_ms)
        price = sc.instance(self.pool[0]).price_per_hour_usd(self.pool[1])
        even = break_even_rps(price, spec, sc.serverless, self.serverless_memory_mb)
        return spec.profile(self.pool[0]), even

    def decide(self, obs: Observation) -> Decision:
        """The precomputed replicas of step t."""
        return Decision({self.pool: int(self.plan[obs.t])})


class RateOracle(Oracle):
    """A reference, not a bound: knows the rate around each step, not the step's own draw.

    Where `Oracle` knows every step's exact load, this knows only the mean of the loads within
    `window` // 2 steps either side of it (the step itself left out, so that its draw does not
    leak into the rate) and, for the spread around that mean, the loads of the `neighbours`
    steps of the whole trace whose mean was closest (their deviations from their own mean,
    added to this step's). It boots in 0 s and sizes each step by ballast's rule, the fewest
    replicas plus expected spill to functions at the break-even rate.

    So it is what ballast's rule would reach if it predicted the rate perfectly and without
    delay: the part of the gap to `Oracle` it leaves is the step-to-step noise of the load
    around its rate (Poisson scatter of sparse counts above all), as spread across the trace.
    A policy could beat it only with a tighter model of that spread than the trace-wide one
    (by time of day, say). It is not in POLICIES: the benchmark runs it beside them.
    """

    name = "rate_oracle"
    routes_on_the_draw = False

    def __init__(self, ctx: Context, window: int = 5, neighbours: int = 400):
        sc = ctx.scenario
        profile, even = self.buy_cheapest(sc)
        rps = ctx.clairvoyant_rps()
        rate = self.known_rate(ctx, window)
        headroom = trace_rise(rps)
        # any sample (<= 2 peak) at the rise; no more than the all-functions bill of 2 peaks
        top = min(
            math.ceil(2 * rps.max(initial=0.0) * headroom / (0.5 * profile.capacity_rps)),
            math.ceil(2 * rps.max(initial=0.0) / even),
        )
        table = SlaTable(profile, sc, router_max_late(sc, profile.service_ms), top + 2)
        carried = np.append(0.0, table.max_rate_rps) / headroom  # carried[n]: n replicas carry
        order = np.argsort(rate, kind="stable")
        rank = np.empty(len(rate), dtype=np.int64)
        rank[order] = np.arange(len(rate))
        k = min(neighbours, len(rate))
        deviation = rps - rate
        self.plan = np.zeros(len(rps), dtype=np.int64)
        for t in range(len(rps)):
            first = min(max(rank[t] - k // 2, 0), len(rate) - k)
            loads = np.maximum(rate[t] + deviation[order[first : first + k]], 0.0)
            n = np.arange(min(int(np.searchsorted(carried, loads.max())) + 1, len(carried)))
            bill = n + expected_excess(loads, carried[n]) / even
            self.plan[t] = int(np.argmin(bill))

    def known_rate(self, ctx: Context, window: int) -> np.ndarray:
        """What it knows of each step's rate: the mean of the loads around it."""
        return mean_around(ctx.clairvoyant_rps(), window)


class TrailingRate(RateOracle):
    """A reference: the rate oracle told only the past a policy sees when it must decide.

    Each step's rate is the mean of the `window` loads that ended `lead` steps before it, where
    `lead` is ballast's (`decision_lead`: a decision at step t sees loads up to t - 1 and its
    new replicas serve from t + boot). The first steps, with nothing before
    them, take the first load. Like `RateOracle` it boots in 0 s and draws each step's spread
    from the whole trace (the loads around the 400 closest trailing means). So it is what
    ballast's rule reaches on what ballast can know of the rate, given the spread of the rate's
    past level as the whole trace shows it. It is not a bound: it measures how much of the gap
    to `RateOracle` predicting from the past costs a policy of ballast's kind.
    """

    name = "trailing_rate"

    def known_rate(self, ctx: Context, window: int) -> np.ndarray:
        """The mean of the `window` loads up to `lead` steps before each step."""
        lead = decision_lead(ctx.scenario.instance(self.pool[0]).boot_s, ctx.step_s)
        return trailing_mean(ctx.clairvoyant_rps(), window, lead)


def mean_around(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the values within `window` // 2 steps either side of each, itself left out.

    Fewer at the ends, never padded; a value with no other around it (a series of one) is
    its own mean.
    """
    half = window // 2
    sums = np.append(0.0, np.cumsum(values))
    i = np.arange(len(values))
    lo, hi = np.maximum(i - half, 0), np.minimum(i + half + 1, len(values))
    others = hi - lo - 1
    return np.where(others > 0, (sums[hi] - sums[lo] - values) / np.maximum(others, 1), values)


def trailing_mean(values: np.ndarray, window: int, lag: int) -> np.ndarray:
    """Mean of the `window` values ending `lag` steps before each (the first value before any)."""
    sums = np.append(0.0, np.cumsum(values))
    hi = np.maximum(np.arange(len(values)) - lag + 1, 1)  # values[:hi] are known, one at least
    lo = np.maximum(hi - window, 0)
    means: np.ndarray = (sums[hi] - sums[lo]) / (hi - lo)
    return means
