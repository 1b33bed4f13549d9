"""A plan's candidates measured by replay: the controller's policy inside each one's envelope.

A candidate is an envelope (per hour: its replicas the ceiling, its non-spot replicas the floor,
its purchase options the ones allowed). What it costs and how often it breaks the SLA is what
the simulator counts when `ballast` (the code the live controller runs) replays the workload's
newest traffic (`BALLAST_PLAN_REPLAY_HOURS`, a day) inside it, hour by hour of the day, in the
workload's own world (`apps.workloads.world`), clamped as the controller clamps
(`policies.envelope`), its serverless share routed as the controller routes it
(`policies.routing`). The figures are the simulator's, with its limits: spot reclaims are
independent and functions never start cold.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from apps.workloads.models import MetricObservation, Workload
from apps.workloads.world import WorldError, requests_history, scenario_for
from policies import make_policy
from policies.envelope import Enveloped, by_hour_of_day, envelope_from_json
from simulation.compare import replay_context, run_policy
from simulation.trace import Load, resample

STEP_S = 60
POLICY = "ballast"


def measure_candidates(
    workload: Workload, candidates: Sequence[dict[str, Any]], *, start_at: datetime, series: str
) -> tuple[list[dict[str, Any] | None], str]:
    """(per candidate its measured figures or None, a note saying why there are none)."""
    load = _recent_load(workload, series)
    if load is None:
        return [None] * len(candidates), f"no hour of {series!r} history to replay"
    try:
        scenario = scenario_for(workload, step_s=STEP_S, peak_rps=float(load.rps.max()))
    except WorldError as exc:
        return [None] * len(candidates), str(exc)
    ctx, starts = replay_context(load, scenario, seed=0)
    replayed_h = len(load.rps) * STEP_S / 3600
    measured = []
    for candidate in candidates:
        envelope = candidate["envelope"]
        world = scenario.serving(envelope["variant"] or scenario.default_variant)
        here = dataclasses.replace(ctx, scenario=world)
        hours = by_hour_of_day(envelope_from_json(envelope), start_at.hour)
        policy = Enveloped.by_hour_of_day(
            make_policy(POLICY, here), hours, start_s=load.start_s, step_s=STEP_S, scenario=world
        )
        metrics, _ = run_policy(policy, here, starts)
        measured.append(
            {
                "policy": POLICY,
                "replayed_h": round(replayed_h, 3),
                "cost_per_day_usd": round(metrics["compute_cost_usd"] * 24 / replayed_h, 6),
                "sla_violation_rate": metrics["sla_violation_rate"],
                "p99_ms": metrics["p99_ms"],
            }
        )
    return measured, ""


def _recent_load(workload: Workload, series: str) -> Load | None:
    newest = (
        MetricObservation.objects.filter(workload=workload, series=series)
        .order_by("-ts")
        .values_list("ts", flat=True)
        .first()
    )
    if newest is None:
        return None
    since = newest - timedelta(hours=settings.PLAN_REPLAY_HOURS)
    history = requests_history(workload.pk, since=since, series=series)
    if history is None or len(history.values) * history.interval_s < 3600:
        return None
    rps = resample(history.values / history.interval_s, history.interval_s, STEP_S)
    if not len(rps) or not rps.max() > 0:
        return None
    return Load(series, rps, float(history.start_s % 86400), STEP_S, history.interval_s, 1.0)
