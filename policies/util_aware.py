"""Paragon's `util_aware` baseline: keep replicas at no more than 80 % utilization, reactively.

Source: Gunasekaran et al. (Paragon), baseline that scales VMs when utilization would exceed
80 %: after each step, replicas = ceil(observed load / (0.8 x replica capacity)), queued
requests included. On-demand VMs only; no prediction, no serverless.
"""

from __future__ import annotations

from policies.base import Context, Decision, Observation, PlainState, primary_pool
from policies.sizing import replicas_for_rate


class UtilAware(PlainState):
    """Size to the last observed load at an 80 % utilization target."""

    name = "util_aware"
    spills = False
    batch_option = "on_demand"
    serverless_memory_mb = 2048
    zero_boot = False

    def __init__(self, ctx: Context, target: float = 0.8):
        self.variant = ctx.scenario.default_variant
        self.pool = primary_pool(ctx.scenario)
        self.profile = ctx.scenario.variant(self.variant).profile(self.pool[0])
        self.target = target

    def decide(self, obs: Observation) -> Decision:
        """Replicas for the last step's demand plus its leftover queue, at the target."""
        demand = obs.demand_rps + obs.backlog / obs.step_s
        return Decision({self.pool: max(1, replicas_for_rate(demand, self.profile, self.target))})
