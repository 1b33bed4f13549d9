"""Kubernetes HPA v2 with its exact defaults (docs/cost-model.md section 7).

Source: kubernetes/website horizontal-pod-autoscale.md. desired = ceil(current x metric/target),
no change within the 0.1 tolerance; unready pods count 0 % on scale-up (a scale-up that this
reverses is dropped); scale-up limited per 15 s sync to max(100 %, 4 pods); scale-down takes the
highest recommendation of the last 300 s (stabilization window). The target is 80 % CPU, the
`kubectl autoscale` default. One sync per step when the step is longer than the 15 s period
(the metric only changes once per step here).
"""

from __future__ import annotations

import math
from collections import deque

from policies.base import Context, Decision, Observation, PlainState, primary_pool
from policies.sizing import replicas_for_rate

SYNC_S = 15.0


class HPA(PlainState):
    """The Horizontal Pod Autoscaler's algorithm on replica utilization."""

    name = "hpa"
    state_fields = ("window", "desired")
    spills = False
    batch_option = "on_demand"
    serverless_memory_mb = 2048
    zero_boot = False

    def __init__(
        self,
        ctx: Context,
        target: float = 0.8,
        tolerance: float = 0.1,
        stabilization_s: float = 300.0,
    ):
        self.variant = ctx.scenario.default_variant
        self.pool = primary_pool(ctx.scenario)
        self.profile = ctx.scenario.variant(self.variant).profile(self.pool[0])
        self.target, self.tolerance = target, tolerance
        self.step_s = ctx.step_s
        self.sync_steps = max(1, round(SYNC_S / self.step_s))
        self.window: deque[int] = deque(maxlen=max(1, math.ceil(stabilization_s / self.step_s)))
        self.desired = 0

    def decide(self, obs: Observation) -> Decision:
        """Recommend, stabilize, rate-limit, as the HPA controller does each sync."""
        if obs.t == 0:
            self.desired = max(1, replicas_for_rate(obs.demand_rps, self.profile, self.target))
            self.window.append(self.desired)
            return Decision({self.pool: self.desired})
        if obs.t % self.sync_steps:
            return Decision({self.pool: self.desired})
        ready, pending = obs.counts.get(self.pool, (0, 0))
        current = ready + pending
        recommendation = self.recommend(obs, ready, current)
        self.window.append(recommendation)
        desired = max(self.window) if recommendation < current else recommendation
        syncs = max(1, round(self.step_s / SYNC_S))
        limit = current
        for _ in range(syncs):
            limit = max(2 * limit, limit + 4)
        self.desired = max(1, min(desired, limit))
        return Decision({self.pool: self.desired})

    def recommend(self, obs: Observation, ready: int, current: int) -> int:
        """Desired = ceil(current x ratio), with the tolerance and the unready-pod rule."""
        usage = obs.served_rps / self.profile.capacity_rps  # busy replicas' worth
        if ready == 0:
            return current
        ratio = usage / (ready * self.target)
        if abs(ratio - 1) <= self.tolerance:
            return current
        if ratio > 1 and current > ready:
            ratio = usage / (current * self.target)  # unready pods count 0 % on scale-up
            if ratio <= 1 + self.tolerance:
                return current
            return math.ceil(current * ratio - 1e-9)
        if ratio < 1 and current > ready:
            busy = usage + (current - ready)  # unready pods count 100 % on scale-down
            ratio = busy / (current * self.target)
            if ratio >= 1 - self.tolerance:
                return current
            return math.ceil(current * ratio - 1e-9)
        return math.ceil(ready * ratio - 1e-9)
