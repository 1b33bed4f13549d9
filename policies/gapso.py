"""The GA-PSO paper's policy: an hourly allocation plan from forecast quantiles, by GA-PSO.

The plan is solved by the hybrid genetic algorithm + particle swarm of optimization/
(`optimization.solver.solve`).

Every refit period the next hour's forecast (p50/p90/p99 per 5-minute interval, the maximum of
its steps) becomes an `AllocationProblem` over the online types x {on-demand, spot} with the
serverless offer; the plan's replicas per pool are then followed step by step. Until the first
forecast exists it sizes reactively at 80 % utilization. Batch on spot with checkpoints.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from optimization.gapso import GAPSOConfig
from optimization.problem import (
    SLA,
    AllocationProblem,
    DemandForecast,
    ModelVariant,
    Offer,
    ServerlessOffer,
)
from optimization.problem import VariantProfile as OptProfile
from optimization.solver import solve
from policies.base import Context, Decision, Observation
from policies.forecasts import LEVELS
from policies.serverless import duration_ms
from policies.sizing import replicas_for_rate

PLAN_INTERVAL_S = 300


class GAPSO:
    """Follow the GA-PSO plan, re-solved at each forecast refit."""

    name = "gapso"
    spills = True
    batch_option = "spot"
    serverless_memory_mb = 2048
    zero_boot = False

    def __init__(self, ctx: Context, config: GAPSOConfig | None = None):
        sc = ctx.scenario
        self.sc, self.ctx = sc, ctx
        self.variant = sc.default_variant
        self.spec = sc.variant(self.variant)
        self.forecasts = ctx.forecasts
        self.step_s = ctx.step_s
        self.per_interval = max(1, PLAN_INTERVAL_S // self.step_s)
        self.refit_steps = ctx.forecasts.refit_steps
        self.config = config or GAPSOConfig(population=24, ga_generations=8, pso_iterations=8)
        self.offers = tuple(
            Offer(
                f"{name}/{option}",
                name,
                option,
                sc.instance(name).price_per_hour_usd(option),
                sc.instance(name).boot_s,
                sc.instance(name).spot_hazard_per_hour if option == "spot" else 0.0,
            )
            for name in sc.online_types
            for option in ("on_demand", "spot")
        )
        self.plan: dict[int, dict[tuple[str, str], int]] = {}
        self.fallback = (sc.online_types[0], "on_demand")

    def problem(self, t: int) -> AllocationProblem | None:
        """The allocation problem for the refit period starting at step t."""
        horizon = self.refit_steps + self.per_interval
        found = [self.forecasts.at(t, horizon, q) for q in LEVELS]
        series = [s for s in found if s is not None]
        if len(series) < len(found):
            return None
        n_int = math.ceil(horizon / self.per_interval)
        rps = []
        for s in series:
            padded = np.resize(s, n_int * self.per_interval)
            rps.append(tuple(float(x) for x in padded.reshape(n_int, -1).max(axis=1)))
        profiles = tuple(
            OptProfile(p.instance_type, p.capacity_rps, p.service_ms) for p in self.spec.profiles
        )
        fn = self.sc.serverless
        return AllocationProblem(
            name=f"{self.ctx.name}@{t}",
            interval_s=self.per_interval * self.step_s,
            demand=DemandForecast(LEVELS, tuple(rps)),
            offers=self.offers,
            variants=(ModelVariant(self.spec.name, self.spec.accuracy, profiles),),
            sla=SLA(self.sc.latency_target_ms, self.sc.latency_percentile),
            serverless=ServerlessOffer(
                "lambda",
                fn.per_request_usd,
                fn.per_gb_s_usd,
                self.serverless_memory_mb,
                duration_ms(self.spec, self.serverless_memory_mb),
                fn.cold_start_s,
                max_concurrency=fn.max_concurrency,
            ),
        )

    def replan(self, t: int) -> None:
        """Solve the next period and store the replicas per pool per step."""
        problem = self.problem(t)
        self.plan = {}
        if problem is None:
            return
        solution = solve(problem, method="gapso", seed=self.ctx.seed + t, config=self.config)
        pool_of = {o.name: (o.instance_type, o.purchase_option) for o in self.offers}
        pools = [pool_of[name] for name in solution.offer_names]
        for step in range(t, t + self.refit_steps):
            row = solution.counts[min((step - t) // self.per_interval, len(solution.counts) - 1)]
            wanted: dict[tuple[str, str], int] = {
                (o.instance_type, o.purchase_option): 0 for o in self.offers
            }
            for pool, n in zip(pools, row, strict=True):
                wanted[pool] += int(n)
            self.plan[step] = wanted

    def decide(self, obs: Observation) -> Decision:
        """The plan's replicas for step t (reactive until a forecast exists)."""
        if obs.t % self.refit_steps == 0 and obs.t:
            self.replan(obs.t)
        if obs.t in self.plan:
            return Decision(self.plan[obs.t])
        profile = self.spec.profile(self.fallback[0])
        n = max(1, replicas_for_rate(obs.demand_rps, profile, 0.8))
        return Decision({self.fallback: n, **{k: 0 for k in self._other_pools()}})

    def state(self) -> dict[str, Any]:
        """The current period's plan: [[step, [[type, option, replicas], ...]], ...]."""
        return {
            "plan": [
                [step, [[*pool, n] for pool, n in wanted.items()]]
                for step, wanted in sorted(self.plan.items())
            ]
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Take back the plan `state` returned."""
        self.plan = {
            int(step): {(name, option): int(n) for name, option, n in wanted}
            for step, wanted in state["plan"]
        }

    def _other_pools(self) -> list[tuple[str, str]]:
        return [
            (o.instance_type, o.purchase_option)
            for o in self.offers
            if (o.instance_type, o.purchase_option) != self.fallback
        ]
