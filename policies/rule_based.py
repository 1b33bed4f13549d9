"""Rule-based step scaling, the GA-PSO paper's "rule-based" baseline.

The paper does not publish its rules; these are the common step-scaling rules of an EC2 Auto
Scaling step policy: utilization >= 90 % adds 30 % (at least 2 replicas), 70-90 % adds 1, under
40 % removes 1; no new step while replicas are still warming up (the instance warm-up).
"""

from __future__ import annotations

import math

from policies.base import Context, Decision, Observation, PlainState, primary_pool
from policies.sizing import replicas_for_rate


class RuleBased(PlainState):
    """Fixed step-scaling rules on utilization, paused while replicas warm up."""

    name = "rule_based"
    spills = False
    batch_option = "on_demand"
    serverless_memory_mb = 2048
    zero_boot = False

    def __init__(self, ctx: Context):
        self.variant = ctx.scenario.default_variant
        self.pool = primary_pool(ctx.scenario)
        self.profile = ctx.scenario.variant(self.variant).profile(self.pool[0])

    def decide(self, obs: Observation) -> Decision:
        """Apply the first rule that matches the last step's utilization."""
        ready, pending = obs.counts.get(self.pool, (0, 0))
        n = ready + pending
        if obs.t == 0:
            n = max(1, replicas_for_rate(obs.demand_rps, self.profile, 0.7))
        elif pending == 0:
            if obs.utilization >= 0.9:
                n += max(2, math.ceil(0.3 * n))
            elif obs.utilization >= 0.7:
                n += 1
            elif obs.utilization < 0.4 and n > 1:
                n -= 1
        return Decision({self.pool: n})
