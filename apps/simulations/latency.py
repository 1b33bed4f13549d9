"""Capacity and modelled latency of a workload's plans against its traffic (the workload page).

Latency is the M/M/c model of `optimization.queueing`: each replica of a schedule entry is
`round(capacity_rps x service_time_s)` servers with rate 1/service_time; the SLA percentile of
the response time follows from Erlang C. A saturated step (arrivals >= service capacity) is
drawn at the simulator's queue timeout.

`modelled_traffic` takes and returns plain data (arrays, dicts, dataclasses of arrays);
`workload_traffic` reads a workload's plans and forecast and hands them to it.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.utils import timezone

from apps.plans.models import ScalingPlan
from apps.plans.spend import applied_plans, in_force_periods, newest_plans
from apps.workloads.models import Workload
from forecasting.history import RegularSeries
from optimization.queueing import response_quantile, wait_probability
from policies.scenario import default_scenario

DEFAULT_PERCENTILE = 99.0


@dataclass(frozen=True)
class Capacity:
    """What a plan's chosen candidate provides per interval: requests/s, M/M/c servers and rate."""

    start_s: float
    interval_s: int
    capacity_rps: np.ndarray
    servers: np.ndarray
    mu: np.ndarray  # per server, 1/s


@dataclass(frozen=True)
class InForce:
    """A capacity in force from `start_s` to `end_s` (epoch seconds), as an applied plan's."""

    start_s: float
    end_s: float
    capacity: Capacity


@dataclass(frozen=True)
class Planned:
    """The capacity of the newest plan, which the forecast is drawn against."""

    plan_id: int
    status: str
    capacity: Capacity


@dataclass(frozen=True)
class TrafficModel:
    """What the workload page draws: traffic, forecast, capacity lines and modelled latency.

    Attributes:
        history_s: observed instants, epoch seconds, shape (n,).
        history_rps: observed requests/s, shape (n,).
        forecast: `{"epoch_s": (h,), "mean": (h,), "quantiles": {level: (h,)}}` in requests/s,
            or None.
        capacity: step lines, each `{"epoch_s": (k,), "capacity_rps": (k,), "label": str}`
            (NaN where unknown).
        latency: label -> (epoch seconds, modelled latency in ms), NaN without servers.
        percentile: the SLA's percentile the latency is modelled at (99 without an SLA).
        target_ms: the SLA's latency target, or None.
    """

    history_s: np.ndarray
    history_rps: np.ndarray
    forecast: dict[str, Any] | None
    capacity: list[dict[str, Any]]
    latency: dict[str, tuple[np.ndarray, np.ndarray]]
    percentile: float
    target_ms: float | None


def plan_capacity(plan: ScalingPlan) -> Capacity | None:
    """The chosen candidate's capacity per interval, from the plan's problem profiles."""
    chosen = plan.chosen
    if not chosen or plan.start_at is None or plan.is_batch or plan.problem is None:
        return None
    problem = plan.allocation_problem()
    instance_of = {o.name: o.instance_type for o in problem.offers}
    profiles = {(v.name, p.instance_type): p for v in problem.variants for p in v.profiles}
    rps, servers, rate = [], [], []
    for row in chosen.schedule:
        cap = n = weighted = 0.0
        for placement in row:
            profile = profiles.get((placement.variant, instance_of.get(placement.offer, "")))
            if profile is None:
                continue
            service_s = profile.service_time_ms / 1000
            per_replica = max(1, round(profile.capacity_rps * service_s))
            cap += placement.count * profile.capacity_rps
            n += placement.count * per_replica
            weighted += placement.count * per_replica / service_s
        rps.append(cap)
        servers.append(n)
        rate.append(weighted / n if n else 0.0)
    return Capacity(
        plan.start_at.timestamp(), plan.interval_s, np.array(rps), np.array(servers), np.array(rate)
    )


def capacity_at(capacity: Capacity, epoch_s: np.ndarray) -> tuple[np.ndarray, ...]:
    """(capacity_rps, servers, mu) at each instant.

    Before the plan's start the first interval holds, after its horizon the last (a plan keeps
    running until another is applied).
    """
    offset_s = np.asarray(epoch_s, dtype=float) - capacity.start_s
    index = (offset_s // capacity.interval_s).astype(int)
    index = np.clip(index, 0, len(capacity.capacity_rps) - 1)
    return capacity.capacity_rps[index], capacity.servers[index], capacity.mu[index]


def modelled_latency_ms(
    rps: np.ndarray, servers: np.ndarray, mu: np.ndarray, percentile: float, timeout_s: float
) -> np.ndarray:
    """The `percentile` response time of M/M/c per step, ms; NaN without servers."""
    rps, servers, mu = (np.asarray(a, dtype=float) for a in (rps, servers, mu))
    out = np.full(len(rps), np.nan)
    has = servers > 0
    stable = has & (rps < servers * mu)
    out[has & ~stable] = timeout_s * 1000
    if stable.any():
        c, m, lam = servers[stable].astype(np.int64), mu[stable], rps[stable]
        wait = wait_probability(c, lam / m)
        quantile_s = response_quantile(percentile / 100, c, m, lam, wait, iterations=30)
        out[stable] = np.minimum(quantile_s, timeout_s) * 1000
    return out


def modelled_traffic(
    history: RegularSeries,
    *,
    forecast: Mapping[str, Any] | None,
    applied: Sequence[InForce],
    planned: Planned | None,
    percentile: float,
    timeout_s: float,
    target_ms: float | None = None,
) -> TrafficModel:
    """Observed traffic against the applied capacity, and the forecast against the planned one.

    Args:
        history: the observed `requests` series, counts per interval.
        forecast: the forecast in requests/s, as `TrafficModel.forecast`, or None.
        applied: the capacities in force over the history (applied plans), any order.
        planned: the newest plan's capacity, drawn against the forecast's median; or None.
        percentile: the latency percentile modelled (99 for p99).
        timeout_s: the queue timeout a saturated step is drawn at.
        target_ms: the SLA's latency target, passed through for the figure.
    """
    hist_s = history.start_s + history.interval_s * np.arange(len(history.values))
    hist_rps = history.values / history.interval_s
    lines: list[dict[str, Any]] = []
    latency: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    applied_rps = np.full(len(hist_s), np.nan)
    servers, mu = np.zeros(len(hist_s)), np.zeros(len(hist_s))
    for span in applied:
        mask = (hist_s >= span.start_s) & (hist_s < span.end_s)
        if mask.any():
            applied_rps[mask], servers[mask], mu[mask] = capacity_at(span.capacity, hist_s[mask])
    if np.isfinite(applied_rps).any():
        lines.append(
            {"epoch_s": hist_s, "capacity_rps": applied_rps, "label": "provisioned (applied plans)"}
        )
        latency["observed traffic, applied capacity"] = (
            hist_s,
            modelled_latency_ms(hist_rps, servers, mu, percentile, timeout_s),
        )
    if forecast is not None and planned is not None:
        fx = forecast["epoch_s"]
        rps, c, m = capacity_at(planned.capacity, fx)
        lines.append(
            {
                "epoch_s": fx,
                "capacity_rps": rps,
                "label": f"planned (plan {planned.plan_id}, {planned.status})",
            }
        )
        demand = forecast["quantiles"].get(0.5, forecast["mean"])
        latency[f"forecast p50, plan {planned.plan_id}"] = (
            fx,
            modelled_latency_ms(demand, c, m, percentile, timeout_s),
        )
    return TrafficModel(
        history_s=hist_s,
        history_rps=hist_rps,
        forecast=dict(forecast) if forecast is not None else None,
        capacity=lines,
        latency=latency,
        percentile=percentile,
        target_ms=target_ms,
    )


def workload_traffic(workload: Workload, history: RegularSeries, forecast, sla) -> TrafficModel:
    """The workload's traffic model: its applied plans, newest forecast and newest plan read.

    Args:
        workload: the workload.
        history: its observed `requests` series.
        forecast: its newest succeeded `ForecastRun` of `requests`, or None.
        sla: its SLA, or None.
    """
    percentile = sla.latency_percentile if sla and sla.latency_percentile else DEFAULT_PERCENTILE
    this = Workload.objects.filter(pk=workload.pk)
    applied = [
        InForce(period.start.timestamp(), period.end.timestamp(), capacity)
        for period in in_force_periods(applied_plans(this), timezone.now())
        if (capacity := plan_capacity(period.plan)) is not None
    ]
    forecast_rps = _forecast_rps(forecast)
    planned = None
    if forecast_rps is not None:
        plan = newest_plans(this).get(workload.pk)
        capacity = plan_capacity(plan) if plan else None
        if capacity is not None:
            planned = Planned(plan.pk, plan.status, capacity)
    return modelled_traffic(
        history,
        forecast=forecast_rps,
        applied=applied,
        planned=planned,
        percentile=percentile,
        timeout_s=default_scenario().queue_timeout_s,
        target_ms=sla.latency_target_ms if sla else None,
    )


def _forecast_rps(forecast) -> dict[str, Any] | None:
    """A ForecastRun's mean and quantiles in requests/s at its instants; None without one."""
    if forecast is None or not forecast.mean:
        return None
    scale = 1 / forecast.interval_s
    return {
        "epoch_s": np.array([t.timestamp() for t in forecast.timestamps()]),
        "mean": np.array(forecast.mean) * scale,
        "quantiles": {
            float(k): np.array(v) * scale for k, v in (forecast.quantile_values or {}).items()
        },
    }
