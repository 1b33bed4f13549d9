"""The live controller's step: the workload's policy on its newest metrics, then its targets.

A step (see `policies.live` for the clock, catch-up and observation rules the simulator shares):
1. Claims the workload's `Controller` row (`SELECT ... FOR UPDATE SKIP LOCKED`, and a
   conditional update of `last_step`), so two workers never act on one workload at once and
   a step is never decided twice.
2. Loads the metrics series (counts per interval, so rps = count / step), rebuilds the policy
   and its forecast feed from their saved state, runs the due steps in order and saves the
   state again. Missing points are held at the previous value; metrics older than
   `STALE_STEPS` steps make the step hold (nothing decided, the reason kept in `message`).
3. Brings each decision inside the applied plan's envelope for its hour (`policies.envelope`:
   the plan's replicas, non-spot floor and purchase options; the policy serves the plan's
   variant), sizes the serverless share the load balancer sends to functions
   (`policies.routing`, as the simulator does) and converges every deployment target to the
   newest (`actuators.targets`, one interval: replicas per pool, the ALB's function weight).
   Without an applied plan covering the hour only dry-run targets move. A policy that wants
   more than the envelope allows asks for a new plan (`_needs_plan`).
4. Writes one audit event per workload and hour, summing up the previous hour's decisions,
   plus one whenever the controller is enabled, restarts, holds or needs a plan, so that a day
   of minutes stays readable.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from actuators.base import TransientError
from actuators.targets import desired_state
from apps.actuation.models import ApplyStep
from apps.actuation.services import converge
from apps.control.models import ControlDecision, Controller
from apps.plans.audit import actor_name
from apps.plans.models import AuditEvent, PlanSchedule, PlanStatus, ScalingPlan
from apps.plans.services import request_plan
from apps.workloads.models import MetricObservation, Workload
from apps.workloads.world import WorldError, scenario_for
from optimization.problem import PURCHASE_OPTIONS
from policies import POLICIES, make_policy
from policies.base import Context, Decision, Pool
from policies.envelope import (
    Bounds,
    by_hour_of_day,
    clamp,
    cost_per_rps,
    main_variant,
    price_per_hour,
)
from policies.forecasts import ForecastFeed
from policies.live import DueSteps, due_steps, history_for, observe, step_at
from policies.routing import Router
from policies.scenario import Scenario

MIN_STEP_S = 60  # the controller's default step; finer series are summed over it
MAX_CATCH_UP_S = 86400  # a longer outage restarts the policy instead of replaying the gap
HISTORY_S = 86400  # the load a step shows the policy (ballast reads a day at most)
STALE_STEPS = 3  # newest point older than this many steps: hold
FORECAST_LEAD_STEPS = 8  # beyond the boot lead, as the simulator's feed (simulation.compare)
SEED = 0
WORLD_MAX_AGE_S = 60.0
DEPLOYABLE = tuple(name for name in POLICIES if name != "oracle")  # the oracle sees the future


@dataclass(frozen=True)
class StepReport:
    """What one call did, for the task's log and the tests."""

    decided: int = 0
    applied: bool = False
    held: str = ""


def enable_controller(
    *, workload: Workload, policy: str = "ballast_controller", by=None
) -> Controller:
    """Create or re-enable the controller of an online workload (a fresh start), audited."""
    if workload.kind != Workload.Kind.ONLINE:
        raise ValueError("workload: the live controller runs online workloads only")
    if policy not in DEPLOYABLE:
        raise ValueError(f"policy: {policy!r} is not deployable; choose from {DEPLOYABLE}")
    controller, _ = Controller.objects.update_or_create(
        workload=workload,
        defaults={
            "enabled": True,
            "policy": policy,
            "origin_at": None,
            "last_step": None,
            "policy_state": {},
            "feed_state": {},
            "last_desired": [],
            "message": "",
        },
    )
    _audit(controller, "control.enabled", f"{policy} controller (re)started", by=by)
    return controller


def pause_controller(*, controller: Controller, by=None) -> None:
    """Stop stepping a workload (its state is kept for a later fresh start), audited."""
    Controller.objects.filter(pk=controller.pk).update(enabled=False)
    _audit(controller, "control.paused", "paused: targets keep their last state", by=by)


def run_step(workload_id: int, *, now: datetime | None = None) -> StepReport:
    """Run the controller of one workload for the steps due at `now` (see the module doc)."""
    now = now or timezone.now()
    with transaction.atomic():
        controller = (
            Controller.objects.select_for_update(skip_locked=True)
            .filter(workload_id=workload_id, enabled=True)
            .select_related("workload__team")
            .first()
        )
        if controller is None:
            return StepReport(held="disabled, missing, or another worker holds it")
        return _step(controller, now)


def _step(controller: Controller, now: datetime) -> StepReport:
    read_step = controller.last_step  # what `_save` claims from
    due = _due(controller, now)
    if isinstance(due, str):
        return StepReport(held=due)
    step_s, origin_s = controller.step_s, controller.origin_at.timestamp()
    loads = SeriesLoads(controller.workload, controller.series, origin_s, step_s)
    first = max(0, due.steps.start - HISTORY_S // step_s)
    rps = loads.rps(first, max(due.steps.stop - 1, 1))
    plan = _applied_plan(controller.workload)
    peak = float(rps.max()) if len(rps) else 0.0
    built = _rebuild(controller, loads, peak, _approved_variant(plan))
    if isinstance(built, str):
        return _hold(controller, built)
    policy, feed, pools, router = built
    counts = {(p[0], p[1]): n for *p, n in controller.last_desired}
    decisions = []
    for t in due.steps:
        obs = observe(t, step_s, history_for(t, rps, first), pools.capacity_rps, counts)
        bounds = _bounds_at(plan, controller.origin_at + timedelta(seconds=t * step_s))
        decided = policy.decide(obs)
        clamped = (
            clamp(decided, bounds, pools.cost_per_rps, pools.price_per_hour) if bounds else None
        )
        decision = clamped.decision if clamped else decided
        share = router.share(obs.history_rps, decision.desired, obs.reserved) if router else 0.0
        counts = dict(decision.desired)
        decisions.append((t, obs.demand_rps, decision, share, clamped, bounds is not None))
    controller.last_desired = [[*pool, n] for pool, n in sorted(counts.items())]
    router_state = router.state() if router else {}
    _save(controller, read_step, due.steps, policy.state(), feed.state(), router_state)
    rows = [
        _record(controller, t, demand, d, share, policy.name, c.wanted if c else None)
        for t, demand, d, share, c, _ in decisions
    ]
    _, _, newest, share, clamped, enveloped = decisions[-1]
    note = clamped.note if clamped else ""
    failure = _apply(controller, rows[-1], newest, share, enveloped, note)
    if any(c is not None and c.over for *_, c, _ in decisions):
        _needs_plan(controller, rows[-1].step_at)
    _coalesce_audit(controller, rows[-1])
    return StepReport(decided=len(rows), applied=failure is None)


def _due(controller: Controller, now: datetime) -> DueSteps | str:
    """The steps to run at `now`, or why none runs (the controller's clock is set on first use).

    A hold with a reason is also audited; "no step due" is not (the usual answer between steps).
    """
    points = MetricObservation.objects.filter(
        workload=controller.workload, series=controller.series
    )
    newest = points.aggregate(Max("ts"))["ts__max"]
    if newest is None:
        return _hold(controller, f"no {controller.series!r} metrics yet").held
    if controller.origin_at is None:
        start = now - timedelta(seconds=MAX_CATCH_UP_S)
        first = points.filter(ts__gte=start).aggregate(Min("ts"))["ts__min"]
        if first is None:
            return _hold(
                controller, f"the newest {controller.series!r} point is {newest}: stale"
            ).held
        controller.origin_at, controller.step_s = first, _series_step_s(points)
    step_s = controller.step_s
    origin_s = controller.origin_at.timestamp()
    now_step = step_at(now.timestamp(), origin_s, step_s)
    if now_step - step_at(newest.timestamp(), origin_s, step_s) - 1 > STALE_STEPS:
        stale = f"metrics are stale (newest point {newest:%Y-%m-%d %H:%M} UTC): holding"
        return _hold(controller, stale).held
    due = due_steps(controller.last_step, now_step, MAX_CATCH_UP_S // step_s)
    if not due.steps:
        return "no step due"
    if due.restart:
        _audit(controller, "control.restarted", f"{due.steps.start} steps were missed: restarted")
        controller.origin_at += timedelta(seconds=due.steps.start * step_s)
        controller.last_step, controller.policy_state, controller.feed_state = None, {}, {}
        controller.router_state = {}
        controller.last_desired = []
        now_step = step_at(now.timestamp(), controller.origin_at.timestamp(), step_s)
        due = due_steps(None, now_step, len(due.steps))
    return due


@dataclass(frozen=True)
class PoolTable:
    """Per pool of the policy's variant: what a replica carries and what a carried rps costs."""

    capacity_rps: dict[Pool, float]
    price_per_hour: dict[Pool, float]  # USD per replica-hour now
    cost_per_rps: dict[Pool, float]  # USD per hour per rps


def _rebuild(controller: Controller, loads: SeriesLoads, peak_rps: float, variant: str | None):
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


def _series_step_s(points) -> int:
    """The series' interval (median of its newest gaps), at least the controller's step."""
    stamps = list(points.order_by("-ts").values_list("ts", flat=True)[:50])
    if len(stamps) < 2:
        return MIN_STEP_S
    gaps = np.diff([ts.timestamp() for ts in reversed(stamps)])
    return max(MIN_STEP_S, int(np.median(gaps)))


def _lead(scenario, step_s: int) -> int:
    return max(-(-int(t.boot_s) // step_s) for t in scenario.instance_types) + FORECAST_LEAD_STEPS


def _save(
    controller: Controller,
    read_step: int | None,
    steps: range,
    policy_state: dict,
    feed_state: dict,
    router_state: dict,
) -> None:
    """Claim the steps: only if no other worker moved `last_step` from `read_step` meanwhile."""
    won = Controller.objects.filter(pk=controller.pk, last_step=read_step).update(
        last_step=steps.stop - 1,
        origin_at=controller.origin_at,
        step_s=controller.step_s,
        policy_state=policy_state,
        feed_state=feed_state,
        router_state=router_state,
        last_desired=controller.last_desired,
        message="",
        updated_at=timezone.now(),
    )
    if not won:
        raise StepConflict(f"workload {controller.workload_id}: another worker took the step")
    controller.last_step = steps.stop - 1


class StepConflict(Exception):
    """Another worker decided the step first; this one's work is rolled back."""


def _record(
    controller: Controller,
    t: int,
    demand: float,
    decision: Decision,
    share: float,
    policy: str,
    wanted: int | None,
):
    desired = [
        {"instance_type": pool[0], "purchase_option": pool[1], "replicas": int(n)}
        for pool, n in sorted(decision.desired.items())
    ]
    return ControlDecision.objects.create(
        workload=controller.workload,
        step=t,
        step_at=controller.origin_at + timedelta(seconds=t * controller.step_s),
        origin_at=controller.origin_at,
        policy=policy,
        demand_rps=demand,
        desired=desired,
        replicas=sum(e["replicas"] for e in desired),
        serverless_share=share,
        wanted=wanted,
    )


def _apply(
    controller: Controller,
    row: ControlDecision,
    decision: Decision,
    share: float,
    enveloped: bool,
    note: str,
) -> str | None:
    """Converge every target to `decision` and `share`; None when all got there, else why not.

    Without an applied plan covering the step (`enveloped` False) only dry-run targets move.
    """
    workload = controller.workload
    schedule = [[{"offer": f"{t}/{o}", "count": n} for (t, o), n in decision.desired.items()]]
    options = {f"{t}/{o}": o for (t, o) in decision.desired}
    notes, failures = [note] if note else [], []
    for target in workload.targets.order_by("pk"):
        if not target.dry_run and not enveloped:
            failures.append(
                f"{target.kind}:{target.reference} is live and no applied plan covers now"
            )
            continue
        try:
            failure = converge(
                target,
                desired_state(
                    target.kind, schedule, options, serverless_share=share, pool=target.pool
                ),
                purpose=ApplyStep.Purpose.CONTROL,
                key_prefix=f"control/workload-{workload.pk}/{row.step_at:%Y%m%dT%H%M%S}",
            )
        except TransientError as exc:
            failure = f"{target.kind}:{target.reference}: {exc} (the next step retries)"
        if failure:
            failures.append(failure)
    ControlDecision.objects.filter(pk=row.pk).update(
        applied=not failures, outcome="; ".join(notes + failures) or "targets converged"
    )
    return "; ".join(failures) or None


def _applied_plan(workload: Workload) -> ScalingPlan | None:
    """The plan in force: the newest applied one."""
    return (
        ScalingPlan.objects.filter(workload=workload, status=PlanStatus.APPLIED)
        .order_by("-applied_at", "-pk")
        .first()
    )


def hour_of_day_bounds(plan: ScalingPlan | None) -> dict[int, Bounds]:
    """The applied plan's bounds by hour of the day (UTC), for replaying past days inside it.

    Only hourly plans map onto the clock this way; others give nothing.
    """
    if plan is None or plan.chosen is None or plan.start_at is None or plan.interval_s != 3600:
        return {}
    return by_hour_of_day(plan.envelope_hours(), plan.start_at.hour)


def applied_plan(workload: Workload) -> ScalingPlan | None:
    """The plan in force: the newest applied one."""
    return _applied_plan(workload)


def _approved_variant(plan: ScalingPlan | None) -> str | None:
    """The model variant the applied plan runs (its envelope's, else most of its replicas')."""
    if plan is None or plan.chosen is None:
        return None
    if "envelope" in plan.chosen:
        return plan.chosen["envelope"]["variant"]
    return main_variant(plan.chosen["schedule"])


def _bounds_at(plan: ScalingPlan | None, at: datetime) -> Bounds | None:
    """What two people approved for the hour of `at`, or None outside the plan's horizon.

    The plan's chosen candidate's envelope (`ScalingPlan.envelope_hours`).
    """
    if plan is None or plan.chosen is None or plan.start_at is None:
        return None
    hours = plan.envelope_hours()
    index = int((at - plan.start_at).total_seconds() // plan.interval_s)
    return hours[index] if 0 <= index < len(hours) else None


def _needs_plan(controller: Controller, at: datetime) -> None:
    """The policy wants more than the envelope allows: say so (once an hour) and ask for a plan.

    A plan is requested on behalf of the workload's plan schedule (its requester) when it has
    one and no plan is open; otherwise the audit event is the call for one.
    """
    workload = controller.workload
    hour = at.replace(minute=0, second=0, microsecond=0)
    if AuditEvent.objects.filter(
        workload_id=workload.pk, action="control.needs_plan", at__gte=hour
    ).exists():
        return
    schedule = PlanSchedule.objects.filter(workload=workload).select_related("requested_by").first()
    requested = ""
    if schedule is not None and not ScalingPlan.objects.open().filter(workload=workload).exists():
        plan = request_plan(
            workload=workload, by=schedule.requested_by, via="system", origin="schedule"
        )
        requested = f"; plan {plan.pk} requested"
    _audit(
        controller,
        "control.needs_plan",
        f"the policy wants more replicas than the applied plan allows this hour{requested}",
    )


def _hold(controller: Controller, reason: str) -> StepReport:
    if controller.message != reason:
        _audit(controller, "control.held", reason)
        Controller.objects.filter(pk=controller.pk).update(message=reason)
    return StepReport(held=reason)


def _coalesce_audit(controller: Controller, newest: ControlDecision) -> None:
    """Once per hour: one event summing up the hour before the newest step (if it had steps)."""
    hour = newest.step_at.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    workload = controller.workload
    if AuditEvent.objects.filter(
        workload_id=workload.pk, action="control.hour", detail__hour=hour.isoformat()
    ).exists():
        return
    previous = ControlDecision.objects.filter(
        workload=workload, step_at__gte=hour, step_at__lt=hour + timedelta(hours=1)
    )
    summary = previous.aggregate(low=Min("replicas"), high=Max("replicas"))
    steps = previous.count()
    if not steps:
        return
    applied = previous.filter(applied=True).count()
    _audit(
        controller,
        "control.hour",
        f"{steps} steps from {hour:%Y-%m-%d %H:%M} UTC, {applied} applied; "
        f"replicas {summary['low']}-{summary['high']}",
        {"hour": hour.isoformat(), "steps": steps, "applied": applied},
    )


def _audit(
    controller: Controller, action: str, reason: str, detail: dict | None = None, *, by=None
) -> None:
    workload = controller.workload
    AuditEvent.objects.create(
        actor=actor_name(by),
        via="system",
        action=action,
        team_id=workload.team_id,
        workload_id=workload.pk,
        workload_name=workload.name,
        reason=reason,
        detail={"policy": controller.policy, **(detail or {})},
    )


def recent_decisions(workload: Workload, *, limit: int = 180) -> list[dict]:
    """The newest `limit` decisions, oldest first, as plain rows for pages and the API."""
    rows = ControlDecision.objects.filter(workload=workload).order_by("-step_at")[:limit]
    return [
        {
            "epoch_s": row.step_at.timestamp(),
            "step_at": row.step_at,
            "step": row.step,
            "policy": row.policy,
            "demand_rps": row.demand_rps,
            "replicas": row.replicas,
            "wanted": row.wanted,
            "serverless_percent": round(100 * row.serverless_share),
            "pools": {
                f"{e['instance_type']} {e['purchase_option'].replace('_', '-')}": e["replicas"]
                for e in row.desired
            },
            "applied": row.applied,
            "outcome": row.outcome,
        }
        for row in reversed(rows)
    ]


def prune_history(*, keep_days: int, now: datetime | None = None) -> tuple[int, int]:
    """Forget decisions and controller steps older than `keep_days`: (decisions, steps) deleted.

    The audit trail keeps each hour's summary for good; a target's newest step of each setting
    stays (the dry-run actuator reads its state from it).
    """
    cutoff = (now or timezone.now()) - timedelta(days=keep_days)
    decisions, _ = ControlDecision.objects.filter(step_at__lt=cutoff).delete()
    steps = ApplyStep.objects.filter(purpose=ApplyStep.Purpose.CONTROL, started_at__lt=cutoff)
    newest = (
        ApplyStep.objects.filter(status=ApplyStep.Status.APPLIED)
        .values("target", "setting")
        .annotate(last=Max("pk"))
        .values("last")
    )
    removed, _ = steps.exclude(pk__in=newest).delete()
    return decisions, removed
