"""The metrics of docs/architecture.md section 10 from a replay, its functions and batch nights."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from optimization.purchase import PURCHASE_OPTIONS
from optimization.queueing import mixture_quantile, response_survival, wait_probability
from policies.insurance import WAVE_WINDOW_S
from policies.scenario import Scenario
from simulation.batch import BatchOutcome
from simulation.replay import ReplayRecord
from simulation.serverless import ServerlessUse

METRIC_KEYS = (
    "cost_usd",
    "compute_cost_usd",
    "sla_penalty_usd",
    "sla_violation_rate",
    "p95_ms",
    "p99_ms",
    "utilization_efficiency",
    "util_std",
    "scaling_actions",
    "batch_deadline_misses",
    "cost_by_option",
)


def unit_service_cv(record: ReplayRecord, scenario: Scenario, variant: str) -> np.ndarray:
    """The service-time CV of each step's queue units, (T, U), from `variant`'s profiles.

    A unit per type takes its type's CV; one pooled queue (least connections) takes the
    root-mean-square of its types' CVs weighted by their ready capacity (their shares of the
    requests served), so a pool whose types all have one CV has that CV.
    """
    profiles = [scenario.variant(variant).profile(name) for name in scenario.online_types]
    cv = np.array([p.service_cv for p in profiles])
    steps, units = record.servers.shape
    if units == len(profiles):
        return np.broadcast_to(cv, (steps, units))
    capacity = record.ready * np.array([p.capacity_rps for p in profiles])
    total = capacity.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.sqrt((capacity * cv**2).sum(axis=1) / total)
    per_step: np.ndarray = np.where(total > 0, pooled, cv.max())
    return per_step[:, None]


def online_latency(
    record: ReplayRecord,
    functions: ServerlessUse,
    scenario: Scenario,
    fresh_survival: Callable[[float], np.ndarray],
) -> tuple[float, float, float]:
    """Late requests, p95 and p99 (seconds) of all online requests of one replay.

    Args:
        record: the replay.
        functions: the requests its functions served.
        scenario: gives the latency target, the queue timeout and the cold start.
        fresh_survival: P(R > t) of the requests served without a backlog, for each queue unit
            and step with such requests (`record.fresh > 0`, in row-major order), shape (k,).
            The simulator's is the M/G/c model (`summarize_run`); benchmarks/fidelity.py passes
            latencies measured on a served model.
    """
    target_s = scenario.latency_target_ms / 1000
    weights = record.fresh[record.fresh > 0]
    late_queue = float(weights @ fresh_survival(target_s))
    masses, latencies, _ = point_masses(record, functions, scenario)
    late_point = float(masses[latencies > target_s].sum())

    def survival(t_s: float) -> np.ndarray:
        return np.concatenate([fresh_survival(t_s), (latencies > t_s).astype(float)])

    all_weights = np.concatenate([weights, masses])
    hi_s = scenario.queue_timeout_s + scenario.serverless.cold_start_s + 1.0
    p95 = mixture_quantile(0.95, survival, all_weights, hi_s)
    p99 = mixture_quantile(0.99, survival, all_weights, hi_s)
    return late_queue + late_point, p95, p99


def point_masses(
    record: ReplayRecord, functions: ServerlessUse, scenario: Scenario
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Requests whose latency is one number: (how many, their latency in s, their step).

    Those served behind a backlog or in overload, those dropped, and the functions' warm,
    cold and throttled ones; empty masses left out.
    """
    steps, units = record.late.shape
    per_unit = np.repeat(np.arange(steps), units)
    masses = np.concatenate(
        [
            record.late.ravel(),
            record.dropped.ravel(),
            functions.warm,
            functions.cold,
            functions.throttled,
        ]
    )
    latencies = np.concatenate(
        [
            (record.late_wait_s + 1 / np.maximum(record.mu, 1e-9)).ravel(),
            np.full(record.dropped.size, scenario.queue_timeout_s),
            np.full(len(functions.warm), functions.duration_s),
            np.full(len(functions.cold), functions.duration_s + scenario.serverless.cold_start_s),
            np.full(len(functions.throttled), scenario.queue_timeout_s),
        ]
    )
    at = np.concatenate([per_unit, per_unit, *[np.arange(steps)] * 3])
    keep = masses > 0
    return masses[keep], latencies[keep], at[keep]


def late_by_step(
    record: ReplayRecord,
    functions: ServerlessUse,
    scenario: Scenario,
    fresh_survival: Callable[[float], np.ndarray],
) -> np.ndarray:
    """Requests over the latency target (or unserved) in each step, (T,).

    They sum to `online_latency`'s violations; per step, they give windows such as the
    minutes after a reclaim wave.
    """
    target_s = scenario.latency_target_ms / 1000
    steps, units = record.fresh.shape
    mask = record.fresh > 0
    out = np.zeros(steps)
    rows = np.nonzero(mask)[0]
    np.add.at(out, rows, record.fresh[mask] * fresh_survival(target_s))
    masses, latencies, at = point_masses(record, functions, scenario)
    late = latencies > target_s
    np.add.at(out, at[late], masses[late])
    return out


def window_violations(
    record: ReplayRecord, late: np.ndarray, steps: Sequence[int], step_s: int
) -> list[float]:
    """The share of late requests over the `WAVE_WINDOW_S` from each of `steps`."""
    span = max(1, int(round(WAVE_WINDOW_S / step_s)))
    shares = []
    for t in steps:
        arrived = float(record.arrivals[t : t + span].sum())
        shares.append(float(late[t : t + span].sum()) / arrived if arrived > 0 else 0.0)
    return shares


def model_survival(
    record: ReplayRecord, scenario: Scenario, variant: str
) -> Callable[[float], np.ndarray]:
    """The simulator's P(R > t) for `online_latency`: M/G/c per unit and step (M/M/c at CV 1)."""
    mask = record.fresh > 0
    servers, mu, lam = record.servers[mask], record.mu[mask], record.lam[mask]
    cv = unit_service_cv(record, scenario, variant)[mask]
    wait = wait_probability(servers.astype(np.int64), lam / mu)

    def survival(t_s: float) -> np.ndarray:
        return response_survival(t_s, servers, mu, lam, wait, cv)

    return survival


def summarize_run(
    record: ReplayRecord,
    functions: ServerlessUse,
    batch: BatchOutcome,
    scenario: Scenario,
    variant: str | None = None,
) -> dict[str, Any]:
    """Every metric of docs/architecture.md section 10 of one policy's replay, JSON-ready.

    `variant` is the one the policy served (its profiles' service CVs shape the latency);
    the scenario's default variant if not given.
    """
    fresh = model_survival(record, scenario, variant or scenario.default_variant)
    violations, p95, p99 = online_latency(record, functions, scenario, fresh)
    late = late_by_step(record, functions, scenario, fresh)
    total = float(record.arrivals.sum())
    by_option = {
        **{
            option: record.cost_by_option[option] + batch.cost_by_option.get(option, 0.0)
            for option in PURCHASE_OPTIONS
        },
        "serverless": functions.cost_usd,
    }
    compute = sum(by_option.values()) + batch.storage_cost_usd
    penalty = violations / 1000 * scenario.sla_penalty_usd_per_1k_violations
    has_vm = record.vm_capacity > 0
    util = record.vm_served[has_vm] / record.vm_capacity[has_vm]
    capacity = float(record.vm_capacity.sum())
    return {
        "cost_usd": round(compute + penalty, 6),
        "compute_cost_usd": round(compute, 6),
        "sla_penalty_usd": round(penalty, 6),
        "sla_violation_rate": violations / total if total else 0.0,
        "p95_ms": round(p95 * 1000, 3),
        "p99_ms": round(p99 * 1000, 3),
        "utilization_efficiency": float(record.vm_served.sum() / capacity) if capacity else 0.0,
        "util_std": float(np.std(util) * 100) if len(util) else 0.0,
        "scaling_actions": int(record.scaling_actions),
        "batch_deadline_misses": int(batch.deadline_misses),
        "cost_by_option": {k: round(v, 6) for k, v in by_option.items()},
        "checkpoint_storage_usd": round(batch.storage_cost_usd, 6),
        "online_requests": round(total, 3),
        "serverless_share": float(functions.warm.sum() + functions.cold.sum()) / total
        if total
        else 0.0,
        "mean_replicas": float(record.ready.sum(axis=1).mean()),
        "spot_interruptions": int(record.interruptions + batch.interruptions),
        "spot_waves": int(record.waves),
        "launch_failures": int(record.launch_failures),
        "stress_waves": len(record.stress_steps),
        "wave_violation_rate": max(
            window_violations(record, late, record.stress_steps, scenario.step_s), default=0.0
        ),
        "peak_window_violations": [
            round(v, 6) for v in window_violations(record, late, record.peak_steps, scenario.step_s)
        ],
        "batch_nights": int(batch.nights),
    }
