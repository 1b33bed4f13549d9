"""The policy ranking of benchmarks/fidelity.py: model latencies against measured ones.

Each policy is replayed by the simulator on a slice of the trace in a world scaled to the
served model: one replica is one worker (the measured service time and CV, round robin, so a
replica is its own M/G/1 queue). Its SLA violations and p99 are then computed twice from the
same replay (`simulation.metrics.online_latency`): with the model's P(R > t), and with the
response times measured on the served model at the nearest utilization levels (interpolated
in rho between them), pooled over the repeats and per repeat.

The measured order is itself noisy: two repeats of the same measurement rank the policies
differently. `agreement` measures that bound (Kendall's tau between repeats, and the pairs of
policies every repeat orders alike) beside the model's agreement with the measurement, so the
model is asked for the same ranking as far as the measurement can tell one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np
from scipy.stats import kendalltau

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
    repeats: Sequence[MeasuredLatency] = (),
) -> list[dict[str, float | str | tuple[float, ...]]]:
    """Per policy: violation rate and p99, model and measured, and its busiest queues' share.

    `repeats` are the same measurement per repeat: each gives the policy's violation rate
    again (`repeat_violation`, in their order) from the same replay.
    """
    ctx, _ = replay_context(load, scenario, seed)
    rows: list[dict[str, float | str | tuple[float, ...]]] = []
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
        per_repeat = tuple(
            online_latency(record, functions, scenario, measured_survival(record, m))[0] / total
            for m in repeats
        )
        rows.append(
            {
                "policy": name,
                "model_violation": model[0] / total,
                "measured_violation": meas[0] / total,
                "model_p99_s": model[2],
                "measured_p99_s": meas[2],
                "above_top": float(record.fresh[mask][rho > top].sum() / total),
                "mean_replicas": float(record.ready.sum(axis=1).mean()),
                "repeat_violation": per_repeat,
            }
        )
    return rows


def ranks(values: Sequence[float]) -> list[int]:
    """Rank of each value, 1 for the smallest; ties share the better rank."""
    order = sorted(values)
    return [order.index(v) + 1 for v in values]


def tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall's tau between the orders of two sequences of the same policies."""
    return float(kendalltau(ranks(a), ranks(b)).statistic)


@dataclass(frozen=True, slots=True)
class Agreement:
    """How far the model's order matches the measured one, against the measurement's own noise.

    `model_tau` compares the model with the pooled measurement, `model_repeat_taus` with each
    repeat, `repeat_taus` each pair of repeats (the bound: what two measurements agree to).
    A pair of policies is resolved when every repeat orders it the same way; `misordered`
    lists the resolved pairs the model orders the other way, as (model's better, measured's
    better).
    """

    model_tau: float
    model_repeat_taus: tuple[float, ...]
    repeat_taus: tuple[float, ...]
    resolved: int
    pairs: int
    misordered: tuple[tuple[str, str], ...]

    @property
    def within_noise(self) -> bool:
        """The model agrees with the measurement at least as well as two repeats agree."""
        return self.model_tau >= float(np.median(self.repeat_taus))


def agreement(
    names: Sequence[str],
    model: Sequence[float],
    pooled: Sequence[float],
    repeats: Sequence[Sequence[float]],
) -> Agreement:
    """The model's order against the pooled measurement and against each repeat's (>= 2)."""
    if len(repeats) < 2:
        raise ValueError("the noise bound needs at least two repeats")
    resolved = 0
    misordered: list[tuple[str, str]] = []
    for i, j in combinations(range(len(names)), 2):
        signs = {int(np.sign(r[i] - r[j])) for r in repeats}
        if len(signs) != 1 or 0 in signs:
            continue
        resolved += 1
        measured_sign = signs.pop()
        if int(np.sign(model[i] - model[j])) != measured_sign:
            model_first, measured_first = (i, j) if measured_sign > 0 else (j, i)
            misordered.append((names[model_first], names[measured_first]))
    return Agreement(
        model_tau=tau(model, pooled),
        model_repeat_taus=tuple(tau(model, r) for r in repeats),
        repeat_taus=tuple(tau(a, b) for a, b in combinations(repeats, 2)),
        resolved=resolved,
        pairs=len(names) * (len(names) - 1) // 2,
        misordered=tuple(misordered),
    )
