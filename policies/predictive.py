"""Gaddam's `predictive` baseline: scale ahead of a forecast, with no cost awareness.

Replicas = ceil(max(forecast mean over the boot lead time, last load) / (0.8 x capacity)), like
AWS predictive scaling combined with dynamic scaling; on-demand only, no serverless, batch on
on-demand. The forecast is the shared feed (forecasting/, refitted hourly).
"""

from __future__ import annotations

from policies.base import Context, Decision, Observation, PlainState, decision_lead, primary_pool
from policies.sizing import replicas_for_rate


class Predictive(PlainState):
    """Forecast-driven sizing at an 80 % utilization target."""

    name = "predictive"
    spills = False
    batch_option = "on_demand"
    serverless_memory_mb = 2048
    zero_boot = False

    def __init__(self, ctx: Context, target: float = 0.8):
        self.variant = ctx.scenario.default_variant
        self.pool = primary_pool(ctx.scenario)
        self.profile = ctx.scenario.variant(self.variant).profile(self.pool[0])
        self.forecasts = ctx.forecasts
        self.target = target
        self.lead = decision_lead(ctx.scenario.instance(self.pool[0]).boot_s, ctx.step_s)

    def decide(self, obs: Observation) -> Decision:
        """Replicas for the higher of the forecast over the lead time and the last load."""
        forecast = self.forecasts.at(obs.t, self.lead) if obs.t else None
        predicted = max(obs.demand_rps, float(forecast.max()) if forecast is not None else 0.0)
        return Decision(
            {self.pool: max(1, replicas_for_rate(predicted, self.profile, self.target))}
        )
