"""Replay several policies over one trace and gather the DESIGN.md `compare` JSON."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from policies import POLICIES, Context, Decision, Observation, Policy, check_policies, make_policy
from policies.base import Pool
from policies.forecasts import ForecastFeed
from policies.scenario import Scenario
from simulation.batch import night_starts_s, run_nights
from simulation.metrics import summarize_run
from simulation.replay import policy_rng, replay
from simulation.serverless import serve_serverless
from simulation.trace import Load


def compare_policies(
    load: Load, scenario: Scenario, policies: Sequence[str] = tuple(POLICIES), seed: int = 0
) -> dict[str, Any]:
    """Replay each policy on `load` under `scenario`; the JSON of `python -m simulation compare`.

    One forecast feed is shared by all policies, so forecasts are fitted once per refit point.
    Same seed, same output.
    """
    check_policies(policies)  # before any replay, so a bad name late in the list costs nothing
    ctx, starts = replay_context(load, scenario, seed)
    results: dict[str, Any] = {}
    batch_note = ""
    for name in policies:
        results[name], batch_note = run_policy(make_policy(name, ctx), ctx, starts)
    return {
        "trace": load.name,
        "interval_s": load.source_interval_s,
        "duration_h": round(load.duration_h, 6),
        "seed": seed,
        "scenario": describe(scenario, load, len(starts), batch_note),
        "policies": results,
    }


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


def run_policy(policy: Policy, ctx: Context, starts: Sequence[float]) -> tuple[dict[str, Any], str]:
    """Replay one policy, its functions and its nightly batch: (its metrics, the batch note).

    `starts` are the nights' window starts (`night_starts_s`).
    """
    scenario = ctx.scenario
    record = replay(policy, ctx)
    functions = serve_serverless(
        record.serverless_rps,
        ctx.step_s,
        scenario.serverless,
        scenario.variant(policy.variant),
        policy.serverless_memory_mb,
    )
    batch = run_nights(
        starts,
        scenario.batch,
        scenario.instance(scenario.batch.instance_type),
        policy.batch_option,
        policy_rng(ctx.seed + 1, policy.name),
    )
    return summarize_run(record, functions, batch, scenario), batch.note


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


def flat_note(load: Load) -> str:
    """A word when the trace has no shape: it is then a what-if of a steady load at the peak."""
    if load.rps.min() < load.rps.max():
        return ""
    return (
        "the trace is constant: replayed as a steady load at the peak; its forecasters have "
        "nothing to learn and its policies nothing to follow"
    )


def gap_note(load: Load) -> str:
    """A word when missing intervals of the trace were filled."""
    if not load.filled:
        return ""
    return (
        f"{load.filled} missing intervals of the trace were filled by linear interpolation "
        "between their neighbours"
    )


def grid_note(load: Load) -> str:
    """A word when rows of the trace were off its regular grid."""
    if not load.regridded:
        return ""
    return (
        f"{load.regridded} rows of the trace were off its regular {load.source_interval_s} s "
        "grid: each was moved to the nearest grid instant, averaged with any others there"
    )


def describe(scenario: Scenario, load: Load, nights: int, batch_note: str) -> dict[str, Any]:
    """The scenario block of the JSON: its parameters and what the replay did with the trace."""
    return {
        "name": scenario.name,
        "step_s": scenario.step_s,
        "peak_rps": scenario.peak_rps,
        "latency_target_ms": scenario.latency_target_ms,
        "latency_percentile": scenario.latency_percentile,
        "load_balancer": scenario.load_balancer,
        "online_types": list(scenario.online_types),
        "default_variant": scenario.default_variant,
        "peak_to_median": load.peak_to_median if math.isfinite(load.peak_to_median) else None,
        "batch": {
            "instance_type": scenario.batch.instance_type,
            "work_replica_h": scenario.batch.work_replica_h,
            "window_utc_h": [scenario.batch.window_start_h, scenario.batch.window_end_h],
            "nights": nights,
        },
        "notes": [
            note for note in (flat_note(load), grid_note(load), gap_note(load), batch_note) if note
        ],
        "parameters": scenario.to_dict(),
    }
