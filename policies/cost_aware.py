"""Gaddam's cost-aware dual policy (Algorithm 1): adaptive thresholds, reserved base, bursts.

Workload classes, adaptive thresholds, a reserved base, serverless for micro-bursts, batch on spot
with checkpoints.

As implemented here from the paper's description: the workload is classified (this service is
online; the nightly refresh is batch). Online: after a day of history, reserved replicas are
committed for the always-on base (the day's 10th-percentile load at 80 %), on-demand replicas
cover the rest. Thresholds adapt to the load's recent volatility: with cv the coefficient of
variation of the last 30 minutes, the upper threshold is clip(0.85 - cv, 0.6, 0.85) and the lower
one 0.35 below it; crossing either re-sizes to the middle of the band for the higher of the
last load and the forecast. Micro-bursts above the VMs' safe rate go to serverless functions.
Batch: spot with checkpoints.
"""

from __future__ import annotations

import numpy as np

from policies.base import Context, Decision, Observation, PlainState, decision_lead
from policies.sizing import replicas_for_rate


class CostAware(PlainState):
    """Dual policy with adaptive thresholds."""

    name = "cost_aware"
    state_fields = ("committed",)
    spills = True
    batch_option = "spot"
    serverless_memory_mb = 2048
    zero_boot = False

    def __init__(self, ctx: Context):
        sc = ctx.scenario
        self.variant = sc.default_variant
        self.pool = (sc.online_types[0], "on_demand")
        self.profile = sc.variant(self.variant).profile(self.pool[0])
        self.forecasts = ctx.forecasts
        self.day_steps = 86400 // ctx.step_s
        self.window = max(2, 1800 // ctx.step_s)
        self.lead = decision_lead(sc.instance(self.pool[0]).boot_s, ctx.step_s)
        self.committed = False

    def thresholds(self, history: np.ndarray) -> tuple[float, float]:
        """(lower, upper) utilization thresholds from the recent volatility."""
        recent = history[-self.window :]
        mean = float(recent.mean())
        cv = float(recent.std() / mean) if mean > 0 else 1.0
        upper = float(np.clip(0.85 - cv, 0.6, 0.85))
        return upper - 0.35, upper

    def decide(self, obs: Observation) -> Decision:
        """Re-size when utilization leaves the adaptive band; commit the base once."""
        reserve: dict[str, int] = {}
        if not self.committed and obs.t >= self.day_steps:
            base = float(np.percentile(obs.history_rps[-self.day_steps :], 10))
            reserve = {self.pool[0]: replicas_for_rate(base, self.profile, 0.8)}
            self.committed = True
        reserved = obs.reserved.get(self.pool[0], 0) + reserve.get(self.pool[0], 0)
        total = obs.replicas(self.pool) + obs.reserved.get(self.pool[0], 0)
        lower, upper = self.thresholds(obs.history_rps)
        forecast = self.forecasts.at(obs.t, self.lead) if obs.t else None
        demand = max(obs.demand_rps, float(forecast.max()) if forecast is not None else 0.0)
        if obs.t == 0 or not lower <= obs.utilization <= upper or total == 0:
            total = max(1, replicas_for_rate(demand, self.profile, (lower + upper) / 2))
        elif demand > total * self.profile.capacity_rps * upper:  # forecast ramp: act early
            total = replicas_for_rate(demand, self.profile, (lower + upper) / 2)
        return Decision({self.pool: max(0, total - reserved)}, reserve)
