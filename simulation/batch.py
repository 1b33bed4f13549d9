"""The nightly batch refresh: spot with checkpoints or on-demand, against a deadline window."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from policies.scenario import Batch, InstanceType


@dataclass(frozen=True)
class BatchOutcome:
    """Nights run, deadlines missed and the bill (`note` says why nothing ran, if so)."""

    nights: int
    deadline_misses: int
    cost_by_option: dict[str, float]
    storage_cost_usd: float
    interruptions: int
    note: str


def night_starts_s(start_day: int, start_s: float, duration_s: float, job: Batch) -> list[float]:
    """Window starts (seconds from the trace's start) of every window inside the trace."""
    out = []
    first_midnight = -start_s
    for day in range(int(duration_s // 86400) + 2):
        begin = first_midnight + day * 86400 + job.window_start_h * 3600
        end = first_midnight + day * 86400 + job.window_end_h * 3600
        if begin >= 0 and end <= duration_s:
            out.append(begin)
    return out


def run_nights(
    starts_s: list[float], job: Batch, itype: InstanceType, option: str, rng: np.random.Generator
) -> BatchOutcome:
    """Run the job once per window, on `option` ("spot" checkpoints; "on_demand" does not).

    Each of `job.replicas` replicas boots, then works; on spot an interruption notice (drawn at
    the type's hourly hazard, per minute) leaves time to checkpoint (notice > checkpoint cost),
    so only the reboot is lost, and the replacement boots at once. Checkpoints every
    `checkpoint_every_s` cost `checkpoint_cost_s` of work each; their snapshot is stored for the
    window. Replicas stop when the work is done or at the deadline, billed per second (60 s min).
    """
    if job.work_replica_h <= 0:
        return BatchOutcome(0, 0, {"on_demand": 0.0, "spot": 0.0}, 0.0, 0, "no batch job")
    if not starts_s:
        note = (
            f"batch skipped: the trace covers no full night window "
            f"({job.window_start_h:02.0f}:00-{job.window_end_h:02.0f}:00 UTC)"
        )
        return BatchOutcome(0, 0, {"on_demand": 0.0, "spot": 0.0}, 0.0, 0, note)
    window_s = (job.window_end_h - job.window_start_h) * 3600
    per_replica_s = job.work_replica_h * 3600 / job.replicas
    spot = option == "spot"
    price = itype.spot_per_hour_usd if spot else itype.on_demand_per_hour_usd
    efficiency = 1 - job.checkpoint_cost_s / job.checkpoint_every_s if spot else 1.0
    p_min = -math.expm1(-itype.spot_hazard_per_hour / 60) if spot else 0.0
    misses, billed_s, interruptions = 0, 0.0, 0
    for _ in starts_s:
        finish = [
            _run_replica(per_replica_s, window_s, itype.boot_s, efficiency, p_min, rng)
            for _ in range(job.replicas)
        ]
        misses += any(f is None for f, _ in finish)
        interruptions += sum(n for _, n in finish)
        billed_s += sum(max(60.0, window_s if f is None else f) for f, _ in finish)
    storage = job.checkpoint_gb * job.storage_gb_month_usd * len(starts_s) * window_s / (730 * 3600)
    cost = {"on_demand": 0.0, "spot": 0.0}
    cost[option] = billed_s * price / 3600
    return BatchOutcome(len(starts_s), misses, cost, storage if spot else 0.0, interruptions, "")


def _run_replica(
    work_s: float, window_s: float, boot_s: float, efficiency: float, p_min: float, rng
) -> tuple[float | None, int]:
    """(finish time or None at a missed deadline, interruptions) of one replica's share."""
    clock, done, hits = boot_s, 0.0, 0
    while done < work_s and clock < window_s:
        if p_min and rng.random() < p_min:
            hits += 1
            clock += boot_s  # the replacement boots; the checkpoint on notice kept the work
            continue
        minute = min(60.0, window_s - clock, (work_s - done) / efficiency)
        done += minute * efficiency
        clock += minute
    return (clock if done >= work_s - 1e-9 else None), hits
