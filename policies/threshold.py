"""Threshold autoscaling, the research's baseline: +1 replica over 80 % utilization, -1 under 30 %.

Source: Gaddam's threshold baseline (scale up above 80 % CPU, down below 30 %), acted on as an
EC2 Auto Scaling simple scaling policy: one replica per action, then the default 300 s cooldown
(docs/cost-model.md section 7). On-demand only, no serverless, batch on on-demand.
"""

from __future__ import annotations

import math

from policies.base import Context, Decision, Observation, PlainState, primary_pool
from policies.sizing import replicas_for_rate


class Threshold(PlainState):
    """Step one replica up or down when utilization crosses a fixed threshold."""

    name = "threshold"
    state_fields = ("last_action",)
    spills = False
    batch_option = "on_demand"
    serverless_memory_mb = 2048
    zero_boot = False

    def __init__(self, ctx: Context, up: float = 0.8, down: float = 0.3, cooldown_s: float = 300):
        self.variant = ctx.scenario.default_variant
        self.pool = primary_pool(ctx.scenario)
        self.profile = ctx.scenario.variant(self.variant).profile(self.pool[0])
        self.up, self.down = up, down
        self.cooldown_steps = math.ceil(cooldown_s / ctx.step_s)
        self.last_action = -self.cooldown_steps

    def decide(self, obs: Observation) -> Decision:
        """One replica more over `up`, one fewer under `down`, at most once per cooldown."""
        n = obs.replicas(self.pool)
        if obs.t == 0:
            n = max(1, replicas_for_rate(obs.demand_rps, self.profile, (self.up + self.down) / 2))
        elif obs.t - self.last_action >= self.cooldown_steps:
            if obs.utilization > self.up:
                n, self.last_action = n + 1, obs.t
            elif obs.utilization < self.down and n > 1:
                n, self.last_action = n - 1, obs.t
        return Decision({self.pool: n})
