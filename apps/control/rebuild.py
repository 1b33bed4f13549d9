"""A controller step's policy rebuilt from its saved state, and the loads it reads.

`rebuild` restores the policy, its forecast feed and its router as the last step left them, on
the workload's world (`scenario_for`, cached per process for `WORLD_MAX_AGE_S`); `SeriesLoads`
reads the stored metric series as rps per controller step.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from apps.control.models import Controller
from apps.workloads.models import MetricObservation, Workload
from apps.workloads.world import WorldError, scenario_for
from optimization.problem import PURCHASE_OPTIONS
from policies import make_policy
from policies.base import Context, Pool
from policies.envelope import cost_per_rps, price_per_hour
from policies.forecasts import ForecastFeed
from policies.routing import Router
from policies.scenario import Scenario

MIN_STEP_S = 60  # the controller's default step; finer series are summed over it
FORECAST_LEAD_STEPS = 8  # beyond the boot lead, as the simulator's feed (simulation.compare)
SEED = 0
WORLD_MAX_AGE_S = 60.0


@dataclass(frozen=True)
class PoolTable:
    """Per pool of the policy's variant: what a replica carries and what a carried rps costs."""

    capacity_rps: dict[Pool, float]
    price_per_hour: dict[Pool, float]  # USD per replica-hour now
    cost_per_rps: dict[Pool, float]  # USD per hour per rps


def rebuild(controller: Controller, loads: SeriesLoads, peak_rps: float, variant: str | None):
    """(policy, forecast feed, pool table, router) as they were after the last step, or why not.

    The router (`policies.routing`) sizes the serverless share of a policy that spills; None
    for one that does not.

    `variant` is the applied plan's: the policy serves it when the workload still has it.
    """
    step_s = controller.step_s
    try:
        scenario = _world(controller.workload, step_s, peak_rps)
    except WorldError as exc:
        return str(exc)
    if variant:
        scenario = scenario.serving(variant)
    feed = ForecastFeed(
        loads.rps,
        step_s,
        refit_s=scenario.forecast_refit_s,
        model=scenario.forecast_model,
        lead_steps=_lead(scenario, step_s),
        seed=SEED,
    )
    feed.restore(controller.feed_state)
    name = controller.workload.name
    ctx = Context(scenario=scenario, step_s=step_s, forecasts=feed, seed=SEED, name=name)
    try:
        policy = make_policy(controller.policy, ctx)
    except ValueError as exc:
        return f"{controller.policy}: {exc}"
    if controller.policy_state:
        policy.restore(controller.policy_state)
    profiles = scenario.variant(policy.variant).profiles
    table = PoolTable(
        capacity_rps={
            (p.instance_type, o): p.capacity_rps for p in profiles for o in PURCHASE_OPTIONS
        },
        price_per_hour=price_per_hour(scenario, policy.variant),
        cost_per_rps=cost_per_rps(scenario, policy.variant),
    )
    router = Router(scenario, policy.variant, step_s, policy.zero_boot) if policy.spills else None
    if router is not None and controller.router_state:
        router.restore(controller.router_state)
    return policy, feed, table, router


class SeriesLoads:
    """The stored series as rps per controller step: step i sums the counts stamped in it."""

    def __init__(self, workload: Workload, series: str, origin_s: float, step_s: int):
        self.workload, self.series = workload, series
        self.origin_s, self.step_s = origin_s, step_s

    def rps(self, start: int, stop: int) -> np.ndarray:
        """Load of steps [start, stop); a step with no point holds the previous step's value."""
        if stop <= start:
            return np.zeros(0)
        begin = datetime.fromtimestamp(self.origin_s + start * self.step_s, tz=UTC)
        end = datetime.fromtimestamp(self.origin_s + stop * self.step_s, tz=UTC)
        sums = np.zeros(stop - start)
        seen = np.zeros(stop - start, dtype=bool)
        for ts, value in MetricObservation.objects.filter(
            workload=self.workload, series=self.series, ts__gte=begin, ts__lt=end
        ).values_list("ts", "value"):
            i = int((ts.timestamp() - self.origin_s) // self.step_s) - start
            sums[i] += value
            seen[i] = True
        out = sums / self.step_s
        for i in range(len(out)):  # hold the last value across a missing point
            if not seen[i] and i:
                out[i] = out[i - 1]
        return out


_worlds: dict[tuple[int, int], tuple[float, Scenario]] = {}


def _world(workload: Workload, step_s: int, peak_rps: float) -> Scenario:
    """`scenario_for`, reread at most every WORLD_MAX_AGE_S per workload and process.

    A step then costs no catalog query; a price, SLA or profile change reaches the controller
    within that time. The peak (which only sizes the policy's first lookup table) is the step's.
    """
    key = (workload.pk, step_s)
    cached = _worlds.get(key)
    if cached is None or time.monotonic() - cached[0] > WORLD_MAX_AGE_S:
        cached = (time.monotonic(), scenario_for(workload, step_s=step_s, peak_rps=peak_rps))
        _worlds[key] = cached
    return dataclasses.replace(cached[1], peak_rps=max(peak_rps, 1e-6))


def forget_worlds() -> None:
    """Reread every workload's world at its next step (tests that change one call this)."""
    _worlds.clear()


def series_step_s(points) -> int:
    """The series' interval (median of its newest gaps), at least the controller's step."""
    stamps = list(points.order_by("-ts").values_list("ts", flat=True)[:50])
    if len(stamps) < 2:
        return MIN_STEP_S
    gaps = np.diff([ts.timestamp() for ts in reversed(stamps)])
    return max(MIN_STEP_S, int(np.median(gaps)))


def _lead(scenario, step_s: int) -> int:
    return max(-(-int(t.boot_s) // step_s) for t in scenario.instance_types) + FORECAST_LEAD_STEPS
