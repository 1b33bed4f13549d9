"""The policy ranking of benchmarks/fidelity.py: model latencies against measured ones.

Each policy is replayed by the simulator on a slice of the trace in a world scaled to the
served model: one replica is one worker (the measured service time and CV, round robin, so a
replica is its own M/G/1 queue). Its SLA violations and p99 are then computed twice from the
same replay (`simulation.metrics.online_latency`): with the model's P(R > t), and with the
response times measured on the served model at the nearest utilization levels (interpolated
in rho between them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from policies.scenario import Scenario, Variant, VariantProfile, default_scenario
from simulation.compare import POLICY_NAMES, build_policy
from simulation.metrics import model_survival, online_latency
from simulation.replay import ReplayRecord
from simulation.run import replay_context, replay_online
from simulation.trace import Load


@dataclass(frozen=True, slots=True)
class MeasuredLatency:
    """Response times measured at each utilization of one worker, rho ascending."""

    rho: np.ndarray  # shape (k,); the first is 0 (one request at a time)
    samples_s: tuple[np.ndarray, ...]  # each sorted

    def survival(self, t_s: float, rho: np.ndarray) -> np.ndarray:
        """P(R > t) at each rho, linear in rho between levels, the top level above it."""
        at_levels = np.array(
            [1 - np.searchsorted(s, t_s, side="right") / len(s) for s in self.samples_s]
        )
        survival: np.ndarray = np.interp(rho, self.rho, at_levels)
        return survival


def served_scenario(service_ms: float, service_cv: float, **overrides: object) -> Scenario:
    """The default world with one variant whose replica is one worker of the served model."""
    base = default_scenario()
    profiles = tuple(VariantProfile(t, 1, service_ms, service_cv) for t in base.online_types)
    variant = Variant("ranker-large", 0.93, profiles, serverless_ms_at_1769mb=30.0)
    return replace(
        base,
        variants=(variant,),
        default_variant="ranker-large",
        **overrides,  # type: ignore[arg-type]
    )


def measured_survival(
    record: ReplayRecord, measured: MeasuredLatency
) -> Callable[[float], np.ndarray]:
    """`online_latency`'s P(R > t) from the measured latencies at each queue's utilization."""
    mask = record.fresh > 0
    rho = record.lam[mask] / (record.servers[mask] * record.mu[mask])
    return lambda t_s: measured.survival(t_s, rho)


def rank_policies(
    load: Load,
    scenario: Scenario,
    measured: MeasuredLatency,
    seed: int,
    names: Sequence[str] = POLICY_NAMES,
) -> list[dict[str, float | str]]:
    """Per policy: violation rate and p99, model and measured, and its busiest queues' share."""
    ctx, _ = replay_context(load, scenario, seed)
    rows: list[dict[str, float | str]] = []
    top = float(measured.rho[-1])
    for name in names:
        policy = build_policy(name, ctx, load)
        record, functions = replay_online(policy, ctx)
        total = float(record.arrivals.sum())
        model = online_latency(
            record, functions, scenario, model_survival(record, scenario, policy.variant)
        )
        meas = online_latency(record, functions, scenario, measured_survival(record, measured))
        mask = record.fresh > 0
        rho = record.lam[mask] / (record.servers[mask] * record.mu[mask])
        rows.append(
            {
                "policy": name,
                "model_violation": model[0] / total,
                "measured_violation": meas[0] / total,
                "model_p99_s": model[2],
                "measured_p99_s": meas[2],
                "above_top": float(record.fresh[mask][rho > top].sum() / total),
                "mean_replicas": float(record.ready.sum(axis=1).mean()),
            }
        )
    return rows


def ranks(values: Sequence[float]) -> list[int]:
    """Rank of each value, 1 for the smallest; ties share the better rank."""
    order = sorted(values)
    return [order.index(v) + 1 for v in values]
