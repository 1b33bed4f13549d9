"""Gaddam's cost-aware dual policy (Algorithm 1): the allocation that minimises its objective.

Algorithm 1 chooses, whenever it re-sizes, the allocation minimising

    w1 * compute_cost + w2 * SLA_cost - w3 * utilization,
    SLA_cost = alpha * violation_rate + beta * latency_deviation.

The paper publishes neither the weights nor the terms' scales [E]; here every term is put on
[0, 1] so the weights read as relative importance (`Weights`):

- compute_cost: the candidate's hourly price (committed reserved replicas at the reserved rate,
  the rest on demand) over the price of the largest candidate;
- violation_rate: the M/M/c share of requests over the latency target, over what the SLA allows
  (1 % for a p99), capped at 1: 1 means the SLA is already spent;
- latency_deviation: how far the SLA percentile's latency exceeds the target, relative to the
  target, capped at 1;
- utilization: demand over the candidate's capacity, capped at 1.
Defaults w1 = 1, w2 = 1, w3 = 0.5 and alpha = beta = 0.5 [E]: the SLA as heavy as the bill,
utilization half as heavy, as the paper ranks them (cost and SLA first, efficiency after).

The rest of Algorithm 1, as the paper describes it: the workload is classified (this service is
online; the nightly refresh is batch, on spot with checkpoints). Online: after a day of
history, reserved replicas are committed for the always-on base (the day's 10th-percentile load
at 80 %), on demand above it. Adaptive thresholds per class decide when to re-size: with cv the
coefficient of variation of the last 30 minutes, the upper threshold is clip(0.85 - cv, 0.6,
0.85) and the lower one 0.35 below it [E]; utilization leaving the band, or a forecast beyond the
upper threshold, re-sizes to the objective's choice among the counts that keep the demand (the
higher of the last load and the forecast) inside the band. Micro-bursts above the VMs go to
serverless functions (the spill router).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from policies.base import Context, Decision, Observation, PlainState, decision_lead
from policies.sizing import late_fraction, replicas_for_rate


@dataclass(frozen=True)
class Weights:
    """Algorithm 1's weights: w1 compute, w2 SLA, w3 utilization; alpha and beta inside SLA."""

    compute: float = 1.0
    sla: float = 1.0
    utilization: float = 0.5
    violation: float = 0.5
    latency: float = 0.5


class CostAware(PlainState):
    """Dual policy: adaptive thresholds trigger, Algorithm 1's objective sizes."""

    name = "cost_aware"
    state_fields = ("committed",)
    spills = True
    batch_option = "spot"
    serverless_memory_mb = 2048
    zero_boot = False

    def __init__(self, ctx: Context, weights: Weights | None = None):
        sc = ctx.scenario
        self.scenario = sc
        self.weights = weights or Weights()
        self.variant = sc.default_variant
        self.pool = (sc.online_types[0], "on_demand")
        self.itype = sc.instance(self.pool[0])
        self.profile = sc.variant(self.variant).profile(self.pool[0])
        self.forecasts = ctx.forecasts
        self.day_steps = 86400 // ctx.step_s
        self.window = max(2, 1800 // ctx.step_s)
        self.lead = decision_lead(self.itype.boot_s, ctx.step_s)
        self.committed = False

    def thresholds(self, history: np.ndarray) -> tuple[float, float]:
        """(lower, upper) utilization thresholds from the recent volatility."""
        recent = history[-self.window :]
        mean = float(recent.mean())
        cv = float(recent.std() / mean) if mean > 0 else 1.0
        upper = float(np.clip(0.85 - cv, 0.6, 0.85))
        return upper - 0.35, upper

    def decide(self, obs: Observation) -> Decision:
        """Re-size by the objective when utilization leaves the band; commit the base once."""
        reserve: dict[str, int] = {}
        if not self.committed and obs.t >= self.day_steps:
            base = float(np.percentile(obs.history_rps[-self.day_steps :], 10))
            reserve = {self.pool[0]: replicas_for_rate(base, self.profile, 0.8)}
            self.committed = True
        reserved = obs.reserved.get(self.pool[0], 0) + reserve.get(self.pool[0], 0)
        total = obs.replicas(self.pool) + obs.reserved.get(self.pool[0], 0)
        band = self.thresholds(obs.history_rps)
        forecast = self.forecasts.at(obs.t, self.lead) if obs.t else None
        demand = max(obs.demand_rps, float(forecast.max()) if forecast is not None else 0.0)
        lower, upper = band
        ramp = demand > total * self.profile.capacity_rps * upper  # forecast ramp: act early
        if obs.t == 0 or total == 0 or ramp or not lower <= obs.utilization <= upper:
            total = self.choose(demand, reserved, band)
        return Decision({self.pool: max(0, total - reserved)}, reserve)

    def choose(self, demand_rps: float, reserved: int, band: tuple[float, float]) -> int:
        """The replica count minimising w1 compute + w2 SLA - w3 utilization.

        Candidates run from one replica to the count that brings the demand down to the band's
        lower threshold: the band decides when to re-size, the objective how far.
        """
        high = max(1, replicas_for_rate(demand_rps, self.profile, band[0]))
        candidates = np.arange(1, high + 1)
        w = self.weights
        compute, sla, utilization = self.terms(demand_rps, candidates, reserved)
        objective = w.compute * compute + w.sla * sla - w.utilization * utilization
        return int(candidates[int(np.argmin(objective))])

    def terms(
        self, demand_rps: float, candidates: np.ndarray, reserved: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(compute_cost, SLA_cost, utilization) per candidate count, each on [0, 1].

        Args:
            demand_rps: the load to size for.
            candidates: replica counts, shape (n,), at least 1 each.
            reserved: replicas already committed at the reserved rate.
        """
        n = np.asarray(candidates, dtype=np.int64)
        on_reserved = np.minimum(n, reserved)
        hourly_usd = on_reserved * self.itype.price_per_hour_usd("reserved") + (
            n - on_reserved
        ) * self.itype.price_per_hour_usd("on_demand")
        compute = hourly_usd / max(float(hourly_usd.max()), 1e-12)
        violation, deviation = self.sla_terms(demand_rps, n)
        sla = self.weights.violation * violation + self.weights.latency * deviation
        utilization = np.minimum(demand_rps / (n * self.profile.capacity_rps), 1.0)
        return compute, sla, utilization

    def sla_terms(self, demand_rps: float, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(violation_rate, latency_deviation) per count, each normalised and capped at 1."""
        sc = self.scenario
        allowance = 1 - sc.latency_percentile / 100
        target_s = sc.latency_target_ms / 1000
        rate = np.full(len(n), demand_rps)
        late = late_fraction(rate, n, self.profile, target_s, sc.load_balancer)
        violation = np.minimum(late / allowance, 1.0)
        # the percentile's latency, by bisection between the target and twice it (the cap),
        # where it is over the target; a saturated pool is at the cap
        deviation = np.where(n * self.profile.capacity_rps <= demand_rps, 1.0, 0.0)
        slow = (late > allowance) & (deviation < 1.0)
        if slow.any():
            lo, hi = np.full(slow.sum(), target_s), np.full(slow.sum(), 2 * target_s)
            for _ in range(12):
                mid = (lo + hi) / 2
                over = late_fraction(
                    rate[slow],
                    n[slow],
                    self.profile,
                    mid,  # type: ignore[arg-type]  # late_fraction broadcasts an array of targets
                    sc.load_balancer,
                )
                lo, hi = np.where(over > allowance, mid, lo), np.where(over > allowance, hi, mid)
            deviation[slow] = hi / target_s - 1
        return violation, np.minimum(deviation, 1.0)
