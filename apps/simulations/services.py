"""Every write to simulations: savings replays and what-if runs, queued and computed.

How the numbers are made (the pages say so too):

- Savings replay each workload's stored `requests` series (the last 7 days) through the
  simulator with the `threshold` baseline and the deployed `ballast` (inside the applied plan's
  envelope when there is one), at the trace's own scale (requests per interval / interval =
  requests/s), in the workload's own world (`apps.workloads.world.scenario_for`: its variants,
  profiles and in-force prices); an uploaded trace in a what-if uses the default scenario.
- A what-if replays the chosen policies (`simulation.compare.POLICY_NAMES` and
  `policies.REFERENCES`), its baseline and `ballast` always among them, one after the other on
  at most the last 14 days of a workload's stored `requests` (`MAX_WHATIF_S`) or on an uploaded
  trace, writing its progress every few simulated hours of each replay (`ProgressWriter`).
"""

import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone

from apps.control.envelope import applied_plan, hour_of_day_bounds
from apps.kernel.runs import claim_run, finish_run
from apps.simulations.models import SavingsReplay, WhatIfRun
from apps.workloads.models import MetricObservation, Workload
from apps.workloads.world import WorldError, requests_history, scenario_for
from forecasting.history import RegularSeries
from forecasting.trace import read_trace
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
MIN_WHATIF_S = 3600  # an hour: less is no replay a policy's boot and cooldown can show in
SIM_STEP_S = 60
SAVINGS_POLICIES = ("threshold", "ballast")
# What a what-if's headline compares ballast with: the policies a team may run today.
BASELINES = tuple(n for n in POLICY_NAMES if n not in ("ballast", "ballast_controller", "oracle"))
PROGRESS_EVERY_S = 1.0  # a page polls every 2 s; writing more often only loads the database


class SimulationError(ValueError):
    """Bad input for a replay or a what-if; `field` names the form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def queue_savings_replays(*, workloads, by) -> list[SavingsReplay]:
    """Queue one savings replay per online workload; the worker fills them."""
    from apps.simulations import tasks  # tasks imports this module

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
    plan = applied_plan(workload)
    by_hour = hour_of_day_bounds(plan)
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
        raise SimulationError("trace", "needs at least one minute of traffic above zero")
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
        raise SimulationError("workload", str(exc)) from exc


def start_what_if(
    *, by, workload=None, upload=None, policies: list[str], baseline: str = "threshold"
) -> WhatIfRun:
    """Validate the inputs and queue a what-if run; nothing is written when anything is wrong.

    The baseline and `ballast` are replayed whether chosen or not: the run's headline compares
    them.

    Raises:
        SimulationError: naming the field (`source`, `trace`, `policies` or `baseline`) and the
            problem.
    """
    from apps.simulations import tasks

    unknown = [p for p in policies if p not in POLICY_NAMES and p not in REFERENCES]
    if not policies or unknown:
        raise SimulationError(
            "policies",
            f"unknown policy {unknown[0]!r}" if unknown else "choose at least one policy",
        )
    if baseline not in BASELINES:
        raise SimulationError("baseline", f"{baseline!r} is not one of {', '.join(BASELINES)}")
    if (workload is None) == (upload is None):
        raise SimulationError("source", "choose a workload or upload a trace, not both")
    content, filename = b"", ""
    if workload is not None:
        if requests_history(workload.pk) is None:
            raise SimulationError("source", f"{workload.name} has no usable 'requests' history")
    else:
        content, filename = _checked_upload(upload)
    with transaction.atomic():
        run = WhatIfRun.objects.create(
            requested_by=by,
            workload=workload,
            filename=filename,
            content=content,
            policies=list(dict.fromkeys([baseline, "ballast", *policies])),
            baseline=baseline,
        )
        transaction.on_commit(lambda: tasks.run_what_if.delay(run.pk))
    return run


def _checked_upload(upload) -> tuple[bytes, str]:
    if upload.size > MAX_UPLOAD_BYTES:
        raise SimulationError(
            "trace", f"the file is {upload.size:,} bytes; at most {MAX_UPLOAD_BYTES:,} are accepted"
        )
    content = upload.read()
    try:
        trace = read_trace(content, name=upload.name)
    except ValueError as exc:  # binary, wrong header, NaN, timestamps out of range, one row
        raise SimulationError("trace", str(exc)) from exc
    if trace.duration_h * 3600 > MAX_WHATIF_S:
        raise SimulationError(
            "trace", f"covers {trace.duration_h:g} h; at most {MAX_WHATIF_S // 3600} h are replayed"
        )
    if not trace.values.max() > 0:
        raise SimulationError("trace", "needs at least one minute of traffic above zero")
    if trace.duration_h * 3600 < MIN_WHATIF_S:
        raise SimulationError(
            "trace",
            f"covers {trace.duration_h * 60:g} min in {len(trace.values)} rows; "
            f"at least {MIN_WHATIF_S // 60} min are needed for a replay",
        )
    return content, upload.name[:255]


class ProgressWriter:
    """The simulator's progress callback for one what-if: its percent done, written as it goes.

    Written at most every `every_s` seconds and only when it grew, and never 100 before the run
    has finished: the page says 100 % when the result is there to show.
    """

    def __init__(
        self,
        run_id: int,
        *,
        every_s: float = PROGRESS_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.run_id, self.every_s, self.clock = run_id, every_s, clock
        self.written, self.written_at = 0, -math.inf

    def __call__(self, fraction: float) -> None:
        """Record `fraction` (0 to 1) of the replays done."""
        percent = min(99, int(100 * fraction))
        now = self.clock()
        if percent > self.written and now - self.written_at >= self.every_s:
            WhatIfRun.objects.filter(pk=self.run_id, status=WhatIfRun.Status.RUNNING).update(
                progress=percent
            )
            self.written, self.written_at = percent, now


def execute_what_if(run_id: int) -> None:
    """Replay the chosen policies, writing the progress the simulator reports as it goes."""
    if not claim_run(WhatIfRun, run_id):
        return
    run = WhatIfRun.objects.select_related("workload").get(pk=run_id)
    try:
        load = _what_if_load(run)
        scenario = _scenario(load, run.workload)
        progress = ProgressWriter(run_id)
        result = compare_policies(load, scenario, run.policies, progress=progress)
    except Exception as exc:  # bad data or a simulator bug: the page shows the message
        log.exception("what-if %s failed", run_id)
        finish_run(WhatIfRun, run_id, "failed", message=f"{type(exc).__name__}: {exc}")
        return
    finish_run(WhatIfRun, run_id, "succeeded", result=result, progress=100)


def _what_if_load(run: WhatIfRun) -> Load:
    if run.workload_id:
        history = requests_history(run.workload_id)
        if history is None:
            raise SimulationError("source", "the workload has no usable 'requests' history")
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
