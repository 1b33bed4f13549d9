"""The clairvoyant lower bound: knows every step's load, boots in 0 s, buys the cheapest capacity.

Each step gets the fewest replicas of the cheapest pool per unit of capacity (spot included)
that keep at most `oracle_max_violation` of that step's requests over the latency target, so
its cost is a lower bound on what any policy pays at (practically) zero violations. Capacity
is bought where it is cheapest: when the step's last replica would carry less than the
break-even rate of serverless functions (`serverless.break_even_rps`, about 18 rps), the
oracle leaves that share to functions instead, as the spill router sends it there; without
this a policy with functions could undercut the bound on sparse load. Batch on spot with
checkpoints.
"""

from __future__ import annotations

import numpy as np

from simulation.policies.base import Context, Decision, Observation, cheapest_pool
from simulation.serverless import break_even_rps, size_memory
from simulation.sizing import SlaTable, replicas_for_sla

ROUTER_MAX_LATE = 0.002  # simulation.replay's spill router: what VMs carry before functions


class Oracle:
    """Exact per-step sizing from the future load."""

    name = "oracle"
    spills = True
    batch_option = "spot"
    serverless_memory_mb = 2048
    zero_boot = True

    def __init__(self, ctx: Context):
        sc = ctx.scenario
        self.variant = sc.default_variant
        self.pool = cheapest_pool(sc, self.variant, ("on_demand", "spot"))
        spec = sc.variant(self.variant)
        profile = spec.profile(self.pool[0])
        self.serverless_memory_mb = size_memory(spec, sc.serverless, sc.latency_target_ms)
        rps = ctx.load.rps
        plan = replicas_for_sla(rps, profile, sc, sc.oracle_max_violation, 1.0)
        table = SlaTable(profile, sc, ROUTER_MAX_LATE, int(plan.max(initial=0)) + 1)
        carried = np.where(plan >= 2, table.max_rate_rps[np.maximum(plan - 2, 0)], 0.0)
        price = sc.instance(self.pool[0]).price_per_hour_usd(self.pool[1])
        even = break_even_rps(price, spec, sc.serverless, self.serverless_memory_mb)
        trim = (plan >= 1) & (rps - carried < even)
        self.plan = plan - trim

    def decide(self, obs: Observation) -> Decision:
        """The precomputed replicas of step t."""
        return Decision({self.pool: int(self.plan[obs.t])})
