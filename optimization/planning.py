"""From a forecast to plan candidates: the demand per planning interval and the front as plain data.

The forecast comes at its own step (a minute, five minutes, an hour) as request counts or rates
per step; a plan is made of longer intervals (an hour by default), each of which must carry the
busiest forecast step inside it, so each quantile's demand per interval is the maximum of its
steps, in requests per second. The front's points become candidates: what each runs per interval,
what it costs per day and how often it is expected to miss the SLA.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from optimization.pareto import ParetoPoint
from optimization.problem import AllocationProblem, DemandForecast, Offer
from optimization.solution import Schedule

DAY_S = 86_400


def demand_from_forecast(
    quantiles: Mapping[float, Sequence[float] | np.ndarray],
    *,
    step_s: int,
    interval_s: int,
    counts: bool,
) -> DemandForecast:
    """Requests per second per planning interval, one series per forecast quantile.

    Args:
        quantiles: level -> forecast values per step (all of one length).
        step_s: the forecast's step in seconds.
        interval_s: the planning interval, a multiple of `step_s` (or equal to it).
        counts: True when values are requests per step (divided by `step_s` here), False when
            they are already requests per second.

    Raises:
        ValueError: if the intervals do not divide, or the forecast is shorter than one interval.
    """
    if interval_s % step_s:
        raise ValueError(
            f"interval_s {interval_s} must be a multiple of the forecast step {step_s} s"
        )
    per = interval_s // step_s
    levels = sorted(float(q) for q in quantiles)
    values = np.array([np.asarray(quantiles[q], dtype=float) for q in sorted(quantiles)])
    n = values.shape[1] // per
    if n == 0:
        raise ValueError(
            f"the forecast covers {values.shape[1]} steps of {step_s} s, less than one "
            f"planning interval of {interval_s} s"
        )
    rates = np.clip(values[:, : n * per], 0, None) / (step_s if counts else 1)
    peaks = rates.reshape(len(levels), n, per).max(axis=2)
    peaks = np.maximum.accumulate(peaks, axis=0)  # quantiles must not cross
    return DemandForecast(tuple(levels), tuple(tuple(round(v, 6) for v in s) for s in peaks))


def cost_per_day(allocation: Mapping[str, int], offers: Sequence[Offer]) -> float:
    """USD per day of keeping `allocation` (offer name -> replicas) running."""
    prices = {o.name: o.price_per_hour_usd for o in offers}
    return 24 * sum(prices.get(name, 0.0) * count for name, count in allocation.items())


@dataclass(frozen=True)
class Candidate:
    """One point of the front, as a plan would run it."""

    demand_quantile: float
    cost_usd: float  # over the horizon
    cost_per_day_usd: float
    sla_risk: float
    meets_sla: bool  # sla_risk within what the SLA's percentile allows (1 % for a p99)
    schedule: Schedule
    serverless_rps: tuple[float, ...]
    replicas: tuple[int, ...]  # VM replicas per interval
    purchase_options: tuple[str, ...]  # of the VMs; serverless_rps says what goes to functions
    method: str = "exact"  # the solver that found it: "exact" (MILP) or "hybrid" (GA-PSO)


def peak_demand(peak_rps: float, n_intervals: int) -> DemandForecast:
    """A flat horizon at `peak_rps`: the demand of a plan made before there is history to forecast.

    A new workload's first plan (its onboarding plan) bounds the controller by what serving the
    load its SLA is promised at costs, every interval, until a forecast plan replaces it.

    Raises:
        ValueError: `peak_rps` is not a finite number > 0, or `n_intervals` < 1.
    """
    if not (math.isfinite(peak_rps) and peak_rps > 0):
        raise ValueError(f"peak_rps must be a finite number > 0, got {peak_rps}")
    if n_intervals < 1:
        raise ValueError(f"n_intervals must be >= 1, got {n_intervals}")
    return DemandForecast((0.99,), ((float(peak_rps),) * n_intervals,))


def candidates(problem: AllocationProblem, front: Sequence[ParetoPoint]) -> list[Candidate]:
    """The front's points as candidates, cheapest first."""
    option_of = {o.name: o.purchase_option for o in problem.offers}
    horizon_s = problem.n_intervals * problem.interval_s
    result = []
    for point in front:
        solution = point.solution
        schedule = solution.schedule()
        used = tuple(sorted({option_of[p.offer] for row in schedule for p in row}))
        risk = float(point.sla_risk) if math.isfinite(point.sla_risk) else 1.0
        result.append(
            Candidate(
                demand_quantile=point.demand_quantile,
                cost_usd=round(point.cost_usd, 6),
                cost_per_day_usd=round(point.cost_usd * DAY_S / horizon_s, 6),
                sla_risk=risk,
                meets_sla=risk <= problem.sla.allowed_late + 1e-12,
                schedule=schedule,
                serverless_rps=tuple(round(float(v), 6) for v in solution.serverless_rps),
                replicas=tuple(int(n) for n in solution.counts.sum(axis=1)),
                purchase_options=used,
                method=solution.method,
            )
        )
    return result
