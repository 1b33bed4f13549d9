"""The nightly batch refresh: spot with checkpoints or on-demand, against a deadline window.

A peer policy runs the job on a fixed fleet of one purchase option (`run_nights`); the
deployed `ballast` runs the schedule the plans app proposes for it (`run_planned_nights`), and
a plan's batch candidates are measured by the same world (`replay_schedule`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TypedDict

import numpy as np

from optimization.batch import DEADLINE_MISS_ALLOWED, BatchJob, BatchPlan, batch_front
from optimization.problem import Offer
from policies.candidate import batch_candidates, recommend
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


class ScheduleReplay(TypedDict):
    """What `replay_schedule` measures of a batch plan's schedule, JSON-ready."""

    policy: str
    runs: int
    cost_per_day_usd: float
    sla_violation_rate: float
    items_done_p01: float
    items_done_mean: float
    interruptions_per_run: float
    replayed_h: float


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


def planned_night(job: Batch, itype: InstanceType) -> tuple[BatchPlan, tuple[Offer, ...], BatchJob]:
    """The schedule the plans app proposes for the scenario's nightly job, with its offers and job.

    The job as `apps.plans.planner.batch_jobs` poses it (the night's work as items at one item
    per replica-second, per hour inside the window, the type on demand and on spot), its
    candidates (`optimization.batch.batch_front`, `policies.candidate.batch_candidates`) each
    replayed (`replay_schedule`) and the cheapest that misses at most 1 % of runs chosen by
    `policies.candidate.recommend`, as a plan proposes it (a scenario has no guardrail).

    Raises:
        InfeasibleProblem: the work does not fit the window.
    """
    window_s = (job.window_end_h - job.window_start_h) * 3600
    bjob = BatchJob(
        name="batch",
        items=job.work_replica_h * 3600,
        deadline_s=window_s,
        interval_s=3600,
        items_per_s={itype.name: 1.0},
        checkpoint_interval_s=job.checkpoint_every_s,
        checkpoint_cost_s=job.checkpoint_cost_s,
    )
    offers = tuple(
        Offer(
            f"{itype.name}/{option}",
            itype.name,
            option,
            itype.price_per_hour_usd(option),
            itype.boot_s,
            itype.spot_hazard_per_hour if option == "spot" else 0.0,
        )
        for option in ("on_demand", "spot")
    )
    front = batch_front({"batch": bjob}, offers)
    options = [
        replace(candidate, measured=replay_schedule(plan, offers, bjob))
        for candidate, (_, _, plan) in zip(batch_candidates(front, offers), front, strict=True)
    ]
    chosen = recommend(options, range(len(options)), DEADLINE_MISS_ALLOWED)
    return front[chosen][2], offers, bjob


def run_planned_nights(
    starts_s: Sequence[float], job: Batch, itype: InstanceType, rng: np.random.Generator
) -> BatchOutcome:
    """Run the plans app's schedule for the job (`planned_night`) once per window.

    Each night is one draw of `replay_schedule`'s world; the bill is the schedule's, by
    purchase option, and spot nights store their checkpoints for the window.
    """
    if job.work_replica_h <= 0 or not starts_s:
        return run_nights(starts_s, job, itype, "spot", rng)  # nothing to run; says why
    plan, offers, bjob = planned_night(job, itype)
    cost = {"on_demand": 0.0, "spot": 0.0}
    for offer, counts in zip(offers, plan.counts.T, strict=True):
        hours = counts.sum() * bjob.interval_s / 3600
        cost[offer.purchase_option] += float(hours * offer.price_per_hour_usd * len(starts_s))
    misses = interruptions = 0
    for _ in starts_s:
        night = replay_schedule(plan, offers, bjob, runs=1, seed=int(rng.integers(2**32)))
        misses += int(night["sla_violation_rate"] > 0)
        interruptions += int(night["interruptions_per_run"])
    window_s = (job.window_end_h - job.window_start_h) * 3600
    storage = (
        job.checkpoint_gb * job.storage_gb_month_usd * len(starts_s) * window_s / (730 * 3600)
        if cost["spot"] > 0
        else 0.0
    )
    return BatchOutcome(len(starts_s), misses, cost, storage, interruptions, "")


def run_nights(
    starts_s: Sequence[float],
    job: Batch,
    itype: InstanceType,
    option: str,
    rng: np.random.Generator,
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
    work_s: float,
    window_s: float,
    boot_s: float,
    efficiency: float,
    p_min: float,
    rng: np.random.Generator,
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


def replay_schedule(
    plan: BatchPlan, offers: Sequence[Offer], job: BatchJob, *, runs: int = 400, seed: int = 0
) -> ScheduleReplay:
    """A batch plan's schedule run `runs` times in the simulator's spot world: how often it is late.

    Each interval runs the plan's replicas per offer; a replica started in an interval (all in
    the first, and each one added later) boots first; on spot, each replica-minute is
    interrupted at the offer's hourly hazard (as `run_nights`), the replacement boots, and the
    120 s notice saves the work since the last checkpoint (else half an interval's worth is
    lost); checkpoints cost `checkpoint_cost_s` every `checkpoint_interval_s`. A run misses
    when the items done by the deadline fall short of `job.items`. The bill is the schedule's:
    its replicas run (and are paid) as planned. Interruptions are independent, per replica.
    """
    by_name = {o.name: o for o in offers}
    used = [by_name[name] for name in plan.offer_names]
    L = job.interval_s
    counts = plan.counts.astype(int)
    previous = np.vstack([np.zeros((1, counts.shape[1]), int), counts[:-1]])
    started = np.clip(counts - previous, 0, None)
    rng = np.random.default_rng(seed)
    done = np.zeros(runs)
    interruptions = np.zeros(runs)
    cost = 0.0
    for j, offer in enumerate(used):
        rate = job.items_per_s[offer.instance_type]
        boot = min(offer.boot_delay_s, L)
        lost = job.checkpoint_cost_s if job.checkpoint_on_notice else job.checkpoint_interval_s / 2
        efficiency = 1 - job.checkpoint_cost_s / job.checkpoint_interval_s if offer.is_spot else 1
        p_min = -math.expm1(-offer.interruption_rate_per_hour / 60) if offer.is_spot else 0.0
        for t in range(counts.shape[0]):
            n = counts[t, j]
            if n == 0:
                continue
            cost += n * offer.price_per_hour_usd * L / 3600
            hits = rng.binomial(n * (L // 60), p_min, size=runs) if p_min else np.zeros(runs)
            interruptions += hits
            busy_s = n * L - started[t, j] * boot - hits * (boot + lost)
            done += np.clip(busy_s, 0, None) * efficiency * rate
    missed = done < job.items - 1e-6
    return {
        "policy": "batch schedule",
        "runs": runs,
        "cost_per_day_usd": round(float(cost), 6),
        "sla_violation_rate": float(missed.mean()),
        "items_done_p01": float(np.quantile(done, 0.01)),
        "items_done_mean": float(done.mean()),
        "interruptions_per_run": float(interruptions.mean()),
        "replayed_h": round(counts.shape[0] * L / 3600, 3),
    }
