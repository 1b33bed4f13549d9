"""A plan's candidates measured by replay over the workload's newest traffic.

The workload's newest day (`BALLAST_PLAN_REPLAY_HOURS`) of its series is replayed in its own
world (`apps.workloads.world`) with each candidate's envelope by `simulation.measure`, the code
the simulator's deployed `ballast` measures its plans with.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.utils import timezone

from apps.plans.models import ScalingPlan
from apps.workloads.models import MetricObservation, Workload
from apps.workloads.world import WorldError, requests_history, scenario_for
from optimization.batch import BatchPlan
from policies.candidate import PlanCandidate
from simulation.batch import replay_schedule
from simulation.measure import MIN_REPLAY_S, measure_envelopes
from simulation.trace import Load, resample

STEP_S = 60


def measure_candidates(
    workload: Workload, candidates: Sequence[PlanCandidate], *, start_at: datetime, series: str
) -> tuple[list[dict[str, Any] | None], str]:
    """(per candidate its measured figures or None, a note saying why there are none)."""
    load = _recent_load(workload, series)
    if load is None:
        return [None] * len(candidates), f"no hour of {series!r} history to replay"
    try:
        scenario = scenario_for(workload, step_s=STEP_S, peak_rps=float(load.rps.max()))
    except WorldError as exc:
        return [None] * len(candidates), str(exc)
    envelopes = [candidate.envelope for candidate in candidates]
    measured = measure_envelopes(load, scenario, envelopes, first_hour_utc=start_at.hour)
    return list(measured), ""


def measure_batch(plan: ScalingPlan, candidates: Sequence[PlanCandidate]) -> list[dict[str, Any]]:
    """Each batch candidate's schedule run in the simulator's spot world (`replay_schedule`)."""
    offers, jobs = plan.offers(), plan.batch_jobs()
    names = tuple(o.name for o in offers)
    out: list[dict[str, Any]] = []
    for candidate in candidates:
        job = jobs[candidate.envelope.variant or ""]
        counts = np.zeros((len(candidate.schedule), len(names)))
        for t, row in enumerate(candidate.schedule):
            for placement in row:
                counts[t, names.index(placement.offer)] = placement.count
        schedule = BatchPlan(names, counts, candidate.cost_usd, 0.0, 0.0, 0)
        out.append(dict(replay_schedule(schedule, offers, job)))
    return out


def can_replay(workload: Workload, series: str) -> bool:
    """Whether the workload has the hour of `series` history a candidate's replay needs."""
    return _recent_load(workload, series) is not None


def _recent_load(workload: Workload, series: str) -> Load | None:
    newest = (
        MetricObservation.objects.filter(
            workload=workload, series=series, ts__lte=timezone.now() + timedelta(hours=1)
        )
        .order_by("-ts")
        .values_list("ts", flat=True)
        .first()
    )
    if newest is None:
        return None
    since = newest - timedelta(hours=settings.PLAN_REPLAY_HOURS)
    history = requests_history(workload.pk, since=since, series=series)
    if history is None or len(history.values) * history.interval_s < MIN_REPLAY_S:
        return None
    rps = resample(history.values / history.interval_s, history.interval_s, STEP_S)
    if not len(rps) or not rps.max() > 0:
        return None
    return Load(series, rps, float(history.start_s % 86400), STEP_S, history.interval_s, 1.0)
