"""A plan's candidate envelopes measured by replay: the live controller's policy inside each.

What a candidate costs and how often it breaks the SLA is what the simulator counts when the
controller's policy (`CONTROLLER`, the code the live controller runs) replays a recent load
inside the candidate's envelope, hour by hour of the day, clamped as the controller clamps
(`policies.envelope`), its serverless share routed as the controller routes it
(`policies.routing`). The plans app measures every plan's candidates with this, over the
workload's newest day of traffic; the simulator's deployed `ballast` (`simulation.deployed`)
measures the plans it makes with it too. The figures carry the simulator's limits: spot
reclaims are independent per replica (no pool is reclaimed at once).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from policies import make_policy
from policies.envelope import Envelope, Enveloped, by_hour_of_day
from policies.scenario import Scenario
from simulation.run import replay_context, run_policy
from simulation.trace import Load

CONTROLLER = "ballast_controller"
MIN_REPLAY_S = 3600  # the least recent traffic a candidate is replayed over (else: not measured)


def measure_envelopes(
    load: Load,
    scenario: Scenario,
    envelopes: Sequence[Envelope],
    *,
    first_hour_utc: int,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Per envelope, its replayed figures over `load`.

    `first_hour_utc` is the clock hour of each envelope's first interval; the envelope is
    replayed by hour of the day. Figures: the policy, hours replayed, compute cost per day, the
    share of requests over the SLA target and the p99 latency.
    """
    ctx, starts = replay_context(load, scenario, seed)
    replayed_h = len(load.rps) * load.step_s / 3600
    measured: list[dict[str, Any]] = []
    unbound: list[tuple[Envelope, dict[str, Any]]] = []  # ceilings that never bound
    for envelope in envelopes:
        same = next((figures for e, figures in unbound if envelope.roomier(e)), None)
        if same is not None:  # the very same replay: its ceilings never bound, these are higher
            measured.append(dict(same))
            continue
        world = scenario.serving(envelope.variant or scenario.default_variant)
        here = dataclasses.replace(ctx, scenario=world)
        hours = by_hour_of_day(envelope.hours, first_hour_utc)
        policy = Enveloped.by_hour_of_day(
            make_policy(CONTROLLER, here),
            hours,
            start_s=load.start_s,
            step_s=load.step_s,
            scenario=world,
        )
        metrics, _ = run_policy(policy, here, starts)
        measured.append(
            {
                "policy": CONTROLLER,
                "replayed_h": round(replayed_h, 3),
                "cost_per_day_usd": round(metrics["compute_cost_usd"] * 24 / replayed_h, 6),
                "sla_violation_rate": metrics["sla_violation_rate"],
                "p99_ms": metrics["p99_ms"],
            }
        )
        if policy.capped_steps == 0:
            unbound.append((envelope, measured[-1]))
    return measured
