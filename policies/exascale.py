"""Paragon's `exascale` baseline: provision a fixed margin above the predicted load.

Source: Gunasekaran et al. (Paragon), baseline that over-provisions VMs above the prediction to
absorb errors. Prediction = the shared forecast's mean over the boot lead time (the last load
until a forecast exists); margin 30 % [E]; replicas sized at full utilization of that margin.
"""

from __future__ import annotations

from policies.base import Context, Decision, Observation, PlainState, decision_lead, primary_pool
from policies.sizing import replicas_for_rate


class Exascale(PlainState):
    """Forecast x (1 + margin), on on-demand VMs."""

    name = "exascale"
    spills = False
    batch_option = "on_demand"
    serverless_memory_mb = 2048
    zero_boot = False

    def __init__(self, ctx: Context, margin: float = 0.3):
        self.variant = ctx.scenario.default_variant
        self.pool = primary_pool(ctx.scenario)
        self.profile = ctx.scenario.variant(self.variant).profile(self.pool[0])
        self.forecasts = ctx.forecasts
        self.margin = margin
        self.lead = decision_lead(ctx.scenario.instance(self.pool[0]).boot_s, ctx.step_s)

    def decide(self, obs: Observation) -> Decision:
        """Replicas for (1 + margin) x the forecast peak over the lead time."""
        forecast = self.forecasts.at(obs.t, self.lead) if obs.t else None
        predicted = float(forecast.max()) if forecast is not None else obs.demand_rps
        n = replicas_for_rate(predicted * (1 + self.margin), self.profile, 1.0)
        return Decision({self.pool: max(1, n)})
