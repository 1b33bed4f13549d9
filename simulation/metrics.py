"""The metrics of docs/architecture.md section 10 from a replay, its functions and batch nights."""

from __future__ import annotations

from typing import Any

import numpy as np

from optimization.purchase import PURCHASE_OPTIONS
from optimization.queueing import mixture_quantile, response_survival, wait_probability
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


def summarize_run(
    record: ReplayRecord, functions: ServerlessUse, batch: BatchOutcome, scenario: Scenario
) -> dict[str, Any]:
    """Every metric of docs/architecture.md section 10 of one policy's replay, JSON-ready."""
    target_s = scenario.latency_target_ms / 1000
    mask = record.fresh > 0
    servers, mu, lam = record.servers[mask], record.mu[mask], record.lam[mask]
    wait = wait_probability(servers.astype(np.int64), lam / mu)
    weights = record.fresh[mask]
    late_mmc = float(weights @ response_survival(target_s, servers, mu, lam, wait))
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
    keep = masses > 0
    masses, latencies = masses[keep], latencies[keep]
    late_point = float(masses[latencies > target_s].sum())
    total = float(record.arrivals.sum())
    violations = late_mmc + late_point

    def survival(t_s: float) -> np.ndarray:
        return np.concatenate(
            [response_survival(t_s, servers, mu, lam, wait), (latencies > t_s).astype(float)]
        )

    all_weights = np.concatenate([weights, masses])
    hi_s = scenario.queue_timeout_s + scenario.serverless.cold_start_s + 1.0
    p95 = mixture_quantile(0.95, survival, all_weights, hi_s)
    p99 = mixture_quantile(0.99, survival, all_weights, hi_s)
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
        "batch_nights": int(batch.nights),
    }
