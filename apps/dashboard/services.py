"""The dashboard's reads (capacity, latency from plans) and its writes (replays, what-ifs).

How the numbers are estimated (the pages say so too):

- Spend is estimated from plans (`apps.plans.spend`).
- Savings replay each workload's stored `requests` series (the last 7 days) through the
  simulator with the `threshold` baseline and the deployed `ballast` (inside the applied plan's
  envelope when there is one), at the trace's own scale (requests per interval / interval =
  requests/s), in the workload's own world (`apps.workloads.world.scenario_for`: its variants,
  profiles and in-force prices); an uploaded trace in a what-if uses the default scenario.
- Latency is the M/M/c model of `optimization.queueing`: each replica of a schedule entry is
  `round(capacity_rps x service_time_s)` servers with rate 1/service_time; the SLA percentile of
  the response time follows from Erlang C. A saturated step (arrivals >= service capacity) is
  drawn at the simulator's queue timeout.
"""

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone

from apps.control import services as control
from apps.dashboard.models import SavingsReplay, WhatIfRun
from apps.kernel.runs import claim_run, finish_run
from apps.plans.models import ScalingPlan
from apps.workloads.models import MetricObservation, Workload
from apps.workloads.world import WorldError, requests_history, scenario_for
from forecasting.history import RegularSeries
from forecasting.trace import read_trace
from optimization.queueing import response_quantile, wait_probability
from policies import REFERENCES, make_policy
from policies.envelope import Enveloped
from policies.scenario import default_scenario
from simulation.compare import POLICY_NAMES, compare_policies
from simulation.run import replay_context, run_policy
from simulation.trace import Load, resample

log = logging.getLogger(__name__)

DAY_S = 86_400
REPLAY_S = 7 * DAY_S  # savings replay the last week: enough for a daily cycle, ~10 s per workload
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_WHATIF_S = 14 * DAY_S
SIM_STEP_S = 60
SAVINGS_POLICIES = ("threshold", "ballast")


class DashboardError(ValueError):
    """Bad input for a dashboard write; `field` names the form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


# ---- reads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Capacity:
    """What a plan's chosen candidate provides per interval: requests/s, M/M/c servers and rate."""

    start_s: float
    interval_s: int
    capacity_rps: np.ndarray
    servers: np.ndarray
    mu: np.ndarray  # per server, 1/s


def plan_capacity(plan: ScalingPlan) -> Capacity | None:
    """The chosen candidate's capacity per interval, from the plan's problem profiles."""
    chosen, problem = plan.chosen, plan.problem or {}
    if not chosen or plan.start_at is None:
        return None
    instance_of = {o["name"]: o["instance_type"] for o in problem.get("offers", [])}
    profiles = {
        (v["name"], p["instance_type"]): p
        for v in problem.get("variants", [])
        for p in v.get("profiles", [])
    }
    rps, servers, rate = [], [], []
    for row in chosen["schedule"]:
        cap = n = weighted = 0.0
        for entry in row:
            profile = profiles.get((entry["variant"], instance_of.get(entry["offer"])))
            if profile is None:
                continue
            service_s = profile["service_time_ms"] / 1000
            per_replica = max(1, round(profile["capacity_rps"] * service_s))
            cap += entry["count"] * profile["capacity_rps"]
            n += entry["count"] * per_replica
            weighted += entry["count"] * per_replica / service_s
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


# ---- writes --------------------------------------------------------------------------------


def queue_savings_replays(*, workloads, by) -> list[SavingsReplay]:
    """Queue one savings replay per online workload; the worker fills them."""
    from apps.dashboard import tasks  # tasks imports this module

    with transaction.atomic():
        replays = [
            SavingsReplay.objects.create(workload=w, requested_by=by)
            for w in workloads.filter(kind=Workload.Kind.ONLINE)
        ]
        for replay in replays:
            transaction.on_commit(lambda pk=replay.pk: tasks.replay_savings.delay(pk))
    return replays


def execute_savings_replay(run_id: int) -> None:
    """Replay threshold and ballast on the workload's last week; failures are recorded."""
    if not claim_run(SavingsReplay, run_id):
        return
    run = SavingsReplay.objects.get(pk=run_id)
    since = timezone.now() - timedelta(seconds=REPLAY_S)
    last = MetricObservation.objects.filter(workload_id=run.workload_id, series="requests")
    newest = last.order_by("-ts").values_list("ts", flat=True).first()
    if newest is not None:
        since = newest - timedelta(seconds=REPLAY_S)
    history = requests_history(run.workload_id, since=since)
    if history is None:
        finish_run(SavingsReplay, run_id, "failed", message="no usable 'requests' history")
        return
    try:
        load = load_from_series("requests", history)
        result = replay_savings(load, run.workload)
    except Exception as exc:  # a simulator error must not leave the run RUNNING
        log.exception("savings replay %s failed", run_id)
        finish_run(SavingsReplay, run_id, "failed", message=f"{type(exc).__name__}: {exc}")
        return
    finish_run(
        SavingsReplay,
        run_id,
        "succeeded",
        result=result,
        history_start=datetime.fromtimestamp(history.start_s, UTC),
        history_end=datetime.fromtimestamp(history.end_s, UTC),
    )


def replay_savings(load: Load, workload) -> dict:
    """Threshold and ballast on `load` in the workload's world; ballast as deployed.

    With an applied (hourly) plan, ballast's controller replays inside that plan's envelope hour
    by hour of the day, clamped as the live controller clamps (`policies.envelope`), and
    `result["envelope"]` says so; without one, `ballast` makes, approves and re-makes its own
    plans at their cadence as the control plane would (`simulation.deployed`).
    """
    scenario = _scenario(load, workload)
    plan = control.applied_plan(workload)
    by_hour = control.hour_of_day_bounds(plan)
    if not by_hour:
        return compare_policies(load, scenario, SAVINGS_POLICIES)
    result = compare_policies(load, scenario, ["threshold"])
    ctx, starts = replay_context(load, scenario, seed=result["seed"])
    ballast = Enveloped.by_hour_of_day(
        make_policy("ballast_controller", ctx),
        by_hour,
        start_s=load.start_s,
        step_s=load.step_s,
        scenario=scenario,
    )
    result["policies"]["ballast"], _ = run_policy(ballast, ctx, starts)
    result["envelope"] = f"ballast replayed inside applied plan {plan.pk}'s hourly envelope"
    return result


def load_from_series(name: str, series: RegularSeries) -> Load:
    """Counts per interval as the simulator's requests/s per minute, at their own scale."""
    rps = resample(series.values / series.interval_s, series.interval_s, SIM_STEP_S)
    if len(rps) == 0 or not rps.max() > 0:
        raise DashboardError("trace", "needs at least one minute of traffic above zero")
    median = float(np.median(series.values))
    return Load(
        name=name,
        rps=rps,
        start_s=float(series.start_s % DAY_S),
        step_s=SIM_STEP_S,
        source_interval_s=series.interval_s,
        peak_to_median=float(series.values.max() / median) if median > 0 else math.inf,
        start_day=int(series.start_s // DAY_S),
        filled=series.filled,
        regridded=series.regridded,
    )


def _scenario(load: Load, workload=None):
    """The workload's own world, as its live controller runs in (an upload: the case study's)."""
    if workload is None:
        return default_scenario(peak_rps=float(load.rps.max()), step_s=SIM_STEP_S)
    try:
        return scenario_for(workload, step_s=SIM_STEP_S, peak_rps=float(load.rps.max()))
    except WorldError as exc:
        raise DashboardError("workload", str(exc)) from exc


def start_what_if(*, by, workload=None, upload=None, policies: list[str]) -> WhatIfRun:
    """Validate the inputs and queue a what-if run; nothing is written when anything is wrong.

    Raises:
        DashboardError: naming the field (`source`, `trace` or `policies`) and the problem.
    """
    from apps.dashboard import tasks

    unknown = [p for p in policies if p not in POLICY_NAMES and p not in REFERENCES]
    if not policies or unknown:
        raise DashboardError(
            "policies",
            f"unknown policy {unknown[0]!r}" if unknown else "choose at least one policy",
        )
    if (workload is None) == (upload is None):
        raise DashboardError("source", "choose a workload or upload a trace, not both")
    content, filename = b"", ""
    if workload is not None:
        if requests_history(workload.pk) is None:
            raise DashboardError("source", f"{workload.name} has no usable 'requests' history")
    else:
        content, filename = _checked_upload(upload)
    with transaction.atomic():
        run = WhatIfRun.objects.create(
            requested_by=by,
            workload=workload,
            filename=filename,
            content=content,
            policies=list(dict.fromkeys(policies)),
        )
        transaction.on_commit(lambda: tasks.run_what_if.delay(run.pk))
    return run


def _checked_upload(upload) -> tuple[bytes, str]:
    if upload.size > MAX_UPLOAD_BYTES:
        raise DashboardError(
            "trace", f"the file is {upload.size:,} bytes; at most {MAX_UPLOAD_BYTES:,} are accepted"
        )
    content = upload.read()
    try:
        trace = read_trace(content, name=upload.name)
    except ValueError as exc:
        raise DashboardError("trace", str(exc)) from exc
    if trace.duration_h * 3600 > MAX_WHATIF_S:
        raise DashboardError(
            "trace", f"covers {trace.duration_h:g} h; at most {MAX_WHATIF_S // 3600} h are replayed"
        )
    if trace.duration_h * 3600 < SIM_STEP_S or not trace.values.max() > 0:
        raise DashboardError("trace", "needs at least one minute of traffic above zero")
    return content, upload.name[:255]


def execute_what_if(run_id: int) -> None:
    """Replay each chosen policy in turn, updating `progress` after each."""
    if not claim_run(WhatIfRun, run_id):
        return
    run = WhatIfRun.objects.select_related("workload").get(pk=run_id)
    try:
        load = _what_if_load(run)
        WhatIfRun.objects.filter(pk=run_id).update(progress=5)
        scenario = _scenario(load, run.workload)
        result: dict = {}
        for done, name in enumerate(run.policies, start=1):
            one = compare_policies(load, scenario, [name])
            result = {**one, "policies": {**result.get("policies", {}), **one["policies"]}}
            progress = 5 + int(95 * done / len(run.policies))
            WhatIfRun.objects.filter(pk=run_id).update(progress=min(progress, 99))
    except Exception as exc:  # bad data or a simulator bug: the page shows the message
        log.exception("what-if %s failed", run_id)
        finish_run(WhatIfRun, run_id, "failed", message=f"{type(exc).__name__}: {exc}")
        return
    finish_run(WhatIfRun, run_id, "succeeded", result=result, progress=100)


def _what_if_load(run: WhatIfRun) -> Load:
    if run.workload_id:
        history = requests_history(run.workload_id)
        if history is None:
            raise DashboardError("source", "the workload has no usable 'requests' history")
        keep = int(MAX_WHATIF_S // history.interval_s)
        if len(history.values) > keep:
            cut = len(history.values) - keep
            history = RegularSeries(
                history.values[cut:],
                history.start_s + cut * history.interval_s,
                history.interval_s,
                history.filled,
                history.regridded,
            )
        return load_from_series(run.workload.name, history)
    trace = read_trace(bytes(run.content), name=run.filename)
    start_s = int(trace.timestamps[0].astype("datetime64[s]").astype(np.int64))
    series = RegularSeries(trace.values, start_s, trace.interval_s, trace.filled, trace.regridded)
    return load_from_series(run.filename, series)
