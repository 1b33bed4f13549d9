"""Paragon (Gunasekaran et al.): cheapest adequate variant, steady VMs, serverless peaks.

Cheapest variant meeting accuracy and latency, VMs for the steady load, serverless functions
(memory sized to the latency) for the peaks.

The variant is the cheapest per request among those with accuracy >= the scenario's minimum and
a service-time p99 (ln 100 x mean, exponential) under the target; the VMs (on-demand) cover the
steady load, taken as the higher of the forecast median over the boot lead time and the median
of the last 5 steps, at 85 % utilization; everything above the VMs' safe rate is latency-strict
ranking traffic and goes to functions sized by `size_memory`.
"""

from __future__ import annotations

import math

import numpy as np

from policies.base import Context, Decision, Observation, PlainState, decision_lead
from policies.scenario import Scenario
from policies.serverless import size_memory
from policies.sizing import replicas_for_rate


def choose_variant(scenario: Scenario, instance_type: str) -> str:
    """The cheapest variant (highest capacity) meeting accuracy and latency on the type."""
    target_s = scenario.latency_target_ms / 1000
    ok = [
        v
        for v in scenario.variants
        if v.accuracy >= scenario.min_accuracy
        and v.profile(instance_type).service_ms / 1000 * math.log(100) <= target_s
    ]
    if not ok:
        return scenario.default_variant
    return max(ok, key=lambda v: v.profile(instance_type).capacity_rps).name


class Paragon(PlainState):
    """Variant selection, steady VMs, serverless peaks."""

    name = "paragon"
    spills = True
    batch_option = "on_demand"
    zero_boot = False

    def __init__(self, ctx: Context, utilization: float = 0.85):
        sc = ctx.scenario
        self.pool = (sc.online_types[0], "on_demand")
        self.variant = choose_variant(sc, self.pool[0])
        spec = sc.variant(self.variant)
        self.profile = spec.profile(self.pool[0])
        self.serverless_memory_mb = size_memory(spec, sc.serverless, sc.latency_target_ms)
        self.forecasts = ctx.forecasts
        self.utilization = utilization
        self.lead = decision_lead(sc.instance(self.pool[0]).boot_s, ctx.step_s)

    def decide(self, obs: Observation) -> Decision:
        """VMs for the steady load; the router spills the rest."""
        steady = float(np.median(obs.history_rps[-5:]))
        forecast = self.forecasts.at(obs.t, self.lead, 0.5) if obs.t else None
        if forecast is not None:
            steady = max(steady, float(forecast.max()))
        n = replicas_for_rate(steady, self.profile, self.utilization)
        return Decision({self.pool: max(1, n)})
