"""Replay several policies over one trace: the `compare` JSON (docs/architecture.md section 10)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from policies import POLICIES, REFERENCES, Context, Policy, check_policies, make_policy
from policies.scenario import Scenario
from simulation.deployed import NAME as DEPLOYED
from simulation.deployed import Deployed
from simulation.replay import Progress
from simulation.run import replay_context, run_policy
from simulation.trace import Load

# Every policy the simulator replays: the library's, and `ballast` as deployed (its controller
# inside plans made and approved at their cadence), listed beside its per-step controller.
POLICY_NAMES = (*(name for name in POLICIES if name != "oracle"), DEPLOYED, "oracle")
# Each policy's replay time relative to a plain rule's (about 0.15 s for two days of 5-minute
# load, one core): the progress of a comparison is shared out by these, so that the time left
# estimated from it holds from the first policy on. Unlisted policies weigh 1.
REPLAY_WEIGHT = {
    DEPLOYED: 38.0,  # makes and re-makes its own plans as it goes
    "gapso": 28.0,
    "ballast_controller": 14.0,
    "cost_aware": 6.0,
    "paragon": 3.0,
    "mixed": 2.0,
}


def build_policy(name: str, ctx: Context, load: Load) -> Policy:
    """A fresh policy called `name` for one replay of `load`."""
    if name == DEPLOYED:
        return Deployed(ctx, start_s=load.start_s)
    return make_policy(name, ctx)


def compare_policies(
    load: Load,
    scenario: Scenario,
    policies: Sequence[str] = POLICY_NAMES,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Replay each policy on `load` under `scenario`; the JSON of `python -m simulation compare`.

    One forecast feed is shared by all policies, so forecasts are fitted once per refit point.
    Same seed, same output. `progress`, when given, is told the fraction of all the replays
    done (0 to 1, each policy weighed by `REPLAY_WEIGHT`) every few hours of each replay and
    after each policy.
    """
    # Before any replay, so that a bad name late in the list costs nothing.
    check_policies(policies, (*POLICY_NAMES, *REFERENCES))
    ctx, starts = replay_context(load, scenario, seed)
    results: dict[str, Any] = {}
    batch_note = ""
    weights = [REPLAY_WEIGHT.get(name, 1.0) for name in policies]
    total, before = sum(weights), 0.0
    for name, weight in zip(policies, weights, strict=True):
        within = _share(progress, before / total, weight / total)
        results[name], batch_note = run_policy(build_policy(name, ctx, load), ctx, starts, within)
        before += weight
        if progress is not None:
            progress(before / total)
    return {
        "trace": load.name,
        "interval_s": load.source_interval_s,
        "duration_h": round(load.duration_h, 6),
        "seed": seed,
        "scenario": describe(scenario, load, len(starts), batch_note),
        "policies": results,
    }


def _share(progress: Progress | None, start: float, share: float) -> Progress | None:
    """One replay's progress as its `share` of the whole comparison, from `start` on."""
    if progress is None:
        return None
    report = progress
    return lambda fraction: report(start + share * fraction)


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
