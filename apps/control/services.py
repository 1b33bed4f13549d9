"""The live controller's step: the workload's policy on its newest metrics, then its targets.

A step (see `policies.live` for the clock, catch-up and observation rules the simulator shares):
1. Claims the workload's `Controller` row (`SELECT ... FOR UPDATE SKIP LOCKED`, and a
   conditional update of `last_step`), so two workers never act on one workload at once and
   a step is never decided twice.
2. Loads the metrics series (counts per interval, so rps = count / step), rebuilds the policy
   and its forecast feed from their saved state, runs the due steps in order and saves the
   state again. Missing points are held at the previous value; metrics older than
   `STALE_STEPS` steps make the step hold (nothing decided, the reason kept in `message`).
   The live targets that run replicas are read once (`decisions.read_serving`, within
   `READ_TIMEOUT_S`): the newest due step observes their (ready, pending) replicas per pool
   and the router counts their ready ones (`actuators.serving`), as the simulator passes its
   cluster's. Steps caught up before it were not read when they were due, so they keep the
   last decision's replicas as all ready, as does a step whose read failed (audited once an
   hour) or found nothing to read.
3. Brings each decision inside the applied plan's envelope for its hour (`policies.envelope`:
   the plan's replicas, non-spot floor and purchase options; the policy serves the plan's
   variant), sizes the serverless share the load balancer sends to functions
   (`policies.routing`, as the simulator does) and converges every deployment target to the
   newest (`actuators.targets`, one interval: replicas per pool, the ALB's function weight).
   Without an applied plan covering the hour only dry-run targets move. A policy that wants
   more than the envelope allows asks for a new plan (`envelope.needs_plan`).
4. Writes one audit event per workload and hour, summing up the previous hour's decisions,
   plus one whenever the controller is enabled, restarts, holds or needs a plan, so that a day
   of minutes stays readable.

The step is here; `apps.control.rebuild` rebuilds its policy and reads the series,
`apps.control.envelope` reads the applied plan, `apps.control.decisions` records and applies
decisions and `apps.control.audit` writes the audit events.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from actuators.base import Serving
from actuators.serving import name_pools, ready_by_type
from apps.actuation.models import ApplyStep
from apps.control.audit import audit, coalesce_audit
from apps.control.decisions import apply_decision, read_serving, record_decision
from apps.control.envelope import applied_plan, approved_variant, bounds_at, needs_plan
from apps.control.models import ControlDecision, Controller
from apps.control.rebuild import SeriesLoads, rebuild, series_step_s
from apps.plans.models import AuditEvent
from apps.workloads.models import MetricObservation, Workload
from policies import POLICIES
from policies.base import Pool
from policies.envelope import clamp
from policies.live import DueSteps, due_steps, history_for, observe, step_at

MAX_CATCH_UP_S = 86400  # a longer outage restarts the policy instead of replaying the gap
HISTORY_S = 86400  # the load a step shows the policy (ballast reads a day at most)
STALE_STEPS = 3  # newest point older than this many steps: hold
DEPLOYABLE = tuple(name for name in POLICIES if name != "oracle")  # the oracle sees the future
UNOBSERVED_AUDIT_EVERY = timedelta(hours=1)

logger = logging.getLogger(__name__)


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
    audit(controller, "control.enabled", f"{policy} controller (re)started", by=by)
    return controller


def pause_controller(*, controller: Controller, by=None) -> None:
    """Stop stepping a workload (its state is kept for a later fresh start), audited."""
    Controller.objects.filter(pk=controller.pk).update(enabled=False)
    audit(controller, "control.paused", "paused: targets keep their last state", by=by)


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
    plan = applied_plan(controller.workload)
    peak = float(rps.max()) if len(rps) else 0.0
    built = rebuild(controller, loads, peak, approved_variant(plan))
    if isinstance(built, str):
        return _hold(controller, built)
    policy, feed, pools, router = built
    counts = {(p[0], p[1]): n for *p, n in controller.last_desired}
    serving = _serving(controller, counts)
    decisions = []
    for t in due.steps:
        observed = serving if t == due.steps[-1] else None
        history = history_for(t, rps, first)
        obs = observe(t, step_s, history, pools.capacity_rps, counts, observed=observed)
        bounds = bounds_at(plan, controller.origin_at + timedelta(seconds=t * step_s))
        decided = policy.decide(obs)
        clamped = (
            clamp(decided, bounds, pools.cost_per_rps, pools.price_per_hour) if bounds else None
        )
        decision = clamped.decision if clamped else decided
        ready = (
            None if observed is None else ready_by_type(observed, decision.desired, obs.reserved)
        )
        share = (
            router.share(obs.history_rps, decision.desired, obs.reserved, ready=ready)
            if router
            else 0.0
        )
        counts = dict(decision.desired)
        decisions.append((t, obs.demand_rps, decision, share, clamped, bounds is not None))
    controller.last_desired = [[*pool, n] for pool, n in sorted(counts.items())]
    router_state = router.state() if router else {}
    _save(controller, read_step, due.steps, policy.state(), feed.state(), router_state)
    rows = [
        record_decision(controller, t, demand, d, share, policy.name, c.wanted if c else None)
        for t, demand, d, share, c, _ in decisions
    ]
    _, _, newest, share, clamped, enveloped = decisions[-1]
    note = clamped.note if clamped else ""
    covering = plan if enveloped else None
    failure = apply_decision(controller, rows[-1], newest, share, covering, note)
    if any(c is not None and c.over for *_, c, _ in decisions):
        needs_plan(controller, rows[-1].step_at)
    coalesce_audit(controller, rows[-1])
    return StepReport(decided=len(rows), applied=failure is None)


def _serving(controller: Controller, asked: dict[Pool, int]) -> Serving | None:
    """What the live targets have serving, per pool; None: infer it from the decisions.

    A failed read falls back to the inference rather than holding (the decision is still
    worth applying), and is logged and audited (`control.unobserved`) at most once an hour.
    The first step after a (re)start has nothing asked to name a Deployment's pool by, and
    infers too.
    """
    reads = read_serving(controller.workload)
    if isinstance(reads, str):
        logger.warning("workload %s: targets not read: %s", controller.workload_id, reads)
        recent = AuditEvent.objects.filter(
            workload_id=controller.workload_id,
            action="control.unobserved",
            at__gte=timezone.now() - UNOBSERVED_AUDIT_EVERY,
        )
        if not recent.exists():
            audit(controller, "control.unobserved", f"{reads}; ready replicas inferred")
        return None
    return name_pools(reads, asked) if reads is not None else None


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
        controller.origin_at, controller.step_s = first, series_step_s(points)
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
        audit(controller, "control.restarted", f"{due.steps.start} steps were missed: restarted")
        controller.origin_at += timedelta(seconds=due.steps.start * step_s)
        controller.last_step, controller.policy_state, controller.feed_state = None, {}, {}
        controller.router_state = {}
        controller.last_desired = []
        now_step = step_at(now.timestamp(), controller.origin_at.timestamp(), step_s)
        due = due_steps(None, now_step, len(due.steps))
    return due


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


def _hold(controller: Controller, reason: str) -> StepReport:
    if controller.message != reason:
        audit(controller, "control.held", reason)
        Controller.objects.filter(pk=controller.pk).update(message=reason)
    return StepReport(held=reason)


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
