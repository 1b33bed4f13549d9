"""Replay several policies over one trace: the `compare` JSON (docs/architecture.md section 10)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from policies import POLICIES, REFERENCES, Context, Policy, check_policies, make_policy
from policies.scenario import Scenario
from simulation.deployed import NAME as DEPLOYED
from simulation.deployed import Deployed
from simulation.run import replay_context, run_policy
from simulation.trace import Load

# Every policy the simulator replays: the library's, and `ballast` as deployed (its controller
# inside plans made and approved at their cadence), listed beside its per-step controller.
POLICY_NAMES = (*(name for name in POLICIES if name != "oracle"), DEPLOYED, "oracle")


def build_policy(name: str, ctx: Context, load: Load) -> Policy:
    """A fresh policy called `name` for one replay of `load`."""
    if name == DEPLOYED:
        return Deployed(ctx, start_s=load.start_s)
    return make_policy(name, ctx)


def compare_policies(
    load: Load, scenario: Scenario, policies: Sequence[str] = POLICY_NAMES, seed: int = 0
) -> dict[str, Any]:
    """Replay each policy on `load` under `scenario`; the JSON of `python -m simulation compare`.

    One forecast feed is shared by all policies, so forecasts are fitted once per refit point.
    Same seed, same output.
    """
    # Before any replay, so that a bad name late in the list costs nothing.
    check_policies(policies, (*POLICY_NAMES, *REFERENCES))
    ctx, starts = replay_context(load, scenario, seed)
    results: dict[str, Any] = {}
    batch_note = ""
    for name in policies:
        results[name], batch_note = run_policy(build_policy(name, ctx, load), ctx, starts)
    return {
        "trace": load.name,
        "interval_s": load.source_interval_s,
        "duration_h": round(load.duration_h, 6),
        "seed": seed,
        "scenario": describe(scenario, load, len(starts), batch_note),
        "policies": results,
    }


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
