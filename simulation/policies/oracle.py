"""The clairvoyant lower bound: knows every step's load, boots in 0 s, buys the cheapest capacity.

Each step gets the fewest replicas of the cheapest pool per unit of capacity (spot included)
that keep at most `oracle_max_violation` of that step's requests over the latency target, so
its cost is a lower bound on what any policy pays at (practically) zero violations. Batch on
spot with checkpoints.
"""

from __future__ import annotations

from simulation.policies.base import Context, Decision, Observation, cheapest_pool
from simulation.sizing import replicas_for_sla


class Oracle:
    """Exact per-step sizing from the future load."""

    name = "oracle"
    spills = False
    batch_option = "spot"
    serverless_memory_mb = 2048
    zero_boot = True

    def __init__(self, ctx: Context):
        sc = ctx.scenario
        self.variant = sc.default_variant
        self.pool = cheapest_pool(sc, self.variant, ("on_demand", "spot"))
        profile = sc.variant(self.variant).profile(self.pool[0])
        self.plan = replicas_for_sla(ctx.load.rps, profile, sc, sc.oracle_max_violation, 1.0)

    def decide(self, obs: Observation) -> Decision:
        """The precomputed replicas of step t."""
        return Decision({self.pool: int(self.plan[obs.t])})
