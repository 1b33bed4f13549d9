"""One policy over one load: the shared context, the replay with its functions and batch.

Also the decisions step by step: the simulator's side of the live controller's proof.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from policies import Context, Decision, Observation, Policy
from policies.base import Pool
from policies.forecasts import ForecastFeed
from policies.scenario import Scenario
from simulation.batch import night_starts_s, run_nights, run_planned_nights
from simulation.metrics import summarize_run
from simulation.replay import Progress, ReplayRecord, policy_rng, replay
from simulation.serverless import ServerlessUse, serve_serverless
from simulation.trace import Load


def replay_context(load: Load, scenario: Scenario, seed: int) -> tuple[Context, list[float]]:
    """What every policy's replay shares: (the context with its forecast feed, night starts)."""
    lead = max(math.ceil(t.boot_s / load.step_s) for t in scenario.instance_types) + 8
    feed = ForecastFeed(
        load.rps,
        load.step_s,
        refit_s=scenario.forecast_refit_s,
        model=scenario.forecast_model,
        lead_steps=lead,
        seed=seed,
    )
    ctx = Context(
        scenario=scenario,
        step_s=load.step_s,
        forecasts=feed,
        seed=seed,
        name=load.name,
        future_rps=load.rps,
    )
    starts = night_starts_s(
        load.start_day, load.start_s, len(load.rps) * load.step_s, scenario.batch
    )
    return ctx, starts


def replay_online(
    policy: Policy, ctx: Context, progress: Progress | None = None
) -> tuple[ReplayRecord, ServerlessUse]:
    """Replay `policy`'s online service: its VMs step by step, and the functions it spilled to.

    `progress` is told the fraction of the steps replayed as the replay goes (`replay`).
    """
    record = replay(policy, ctx, progress)
    functions = serve_serverless(
        record.serverless_rps,
        ctx.step_s,
        ctx.scenario.serverless,
        ctx.scenario.variant(policy.variant),
        policy.serverless_memory_mb,
    )
    return record, functions


def run_policy(
    policy: Policy, ctx: Context, starts: Sequence[float], progress: Progress | None = None
) -> tuple[dict[str, Any], str]:
    """Replay one policy, its functions and its nightly batch: (its metrics, the batch note).

    `starts` are the nights' window starts (`night_starts_s`); `progress` is told the fraction
    of the online replay done as it goes.
    """
    scenario = ctx.scenario
    record, functions = replay_online(policy, ctx, progress)
    itype, rng = (
        scenario.instance(scenario.batch.instance_type),
        policy_rng(ctx.seed + 1, policy.name),
    )
    batch = (
        run_planned_nights(starts, scenario.batch, itype, rng)
        if policy.batch_option == "planned"
        else run_nights(starts, scenario.batch, itype, policy.batch_option, rng)
    )
    return summarize_run(record, functions, batch, scenario, policy.variant), batch.note


def replay_decisions(policy: Policy, ctx: Context) -> list[tuple[dict[Pool, int], float]]:
    """Replay `policy` on `ctx`'s load; per step, its replicas per pool and serverless share.

    The simulator's side of the live controller's proof (it must decide the same).
    """
    decided: list[dict[Pool, int]] = []
    decide = policy.decide

    def recording(obs: Observation) -> Decision:
        decision = decide(obs)
        decided.append(dict(decision.desired))
        return decision

    policy.decide = recording  # type: ignore[method-assign]
    try:
        record = replay(policy, ctx)
    finally:
        policy.decide = decide  # type: ignore[method-assign]
    return list(zip(decided, record.serverless_share.tolist(), strict=True))
