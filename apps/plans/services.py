"""Every write to plans: optimization runs, and scaling plans from request to apply.

Every change of a plan's status goes through `transition`, which checks the move under a row
lock and a conditional update, appends to the audit trail and fires the plan's webhook.
"""

import logging
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts import roles
from apps.accounts.models import Role, TokenScope
from apps.forecasts import services as forecast_services
from apps.forecasts.models import ForecastRun
from apps.plans import audit, measure, planner
from apps.plans.models import (
    OptimizationRun,
    PlanSchedule,
    PlanStatus,
    ScalingPlan,
)
from apps.webhooks import services as webhooks
from apps.workloads.models import MetricObservation, Workload
from controlplane.celery import Queue
from controlplane.runs import claim_run, finish_run
from forecasting.base import MIN_POINTS
from optimization.backend import choose_backend
from optimization.batch import DEADLINE_MISS_ALLOWED, batch_front
from optimization.guardrails import (
    PlanShape,
    auto_approvable,
    check_plan,
    check_window,
)
from optimization.pareto import knee_point, pareto_front, plan_front
from optimization.planning import (
    cost_per_day,
    demand_from_forecast,
    peak_demand,
    recommend,
)
from optimization.problem import DemandForecast, problem_from_dict, problem_to_dict
from optimization.solver import solve
from policies.envelope import batch_candidates, envelope_candidates

log = logging.getLogger(__name__)


def request_optimization(
    *, workload, problem: dict, method: str, seed: int, with_pareto: bool, by
) -> OptimizationRun:
    """Store a validated problem and queue it on the GPU queue (a CPU worker may serve it)."""
    from apps.plans import tasks  # tasks imports this module

    problem_from_dict(problem)  # ValueError naming the field; views check first for a 400
    with transaction.atomic():
        run = OptimizationRun.objects.create(
            workload=workload,
            problem=problem,
            method=method,
            seed=seed,
            with_pareto=with_pareto,
            requested_by=by,
        )
        transaction.on_commit(
            lambda: tasks.run_optimization.apply_async((run.pk,), queue=Queue.GPU.value)
        )
    return run


def execute_optimization_run(run_id: int) -> None:
    """Solve one claimed run; an infeasible problem ends FAILED naming the constraint."""
    if not claim_run(OptimizationRun, run_id):
        return
    run = OptimizationRun.objects.get(pk=run_id)
    try:
        problem = problem_from_dict(run.problem)
        solution = solve(problem, method=run.method, seed=run.seed)
        front = pareto_front(problem, seed=run.seed) if run.with_pareto else []
    except ValueError as exc:  # InfeasibleProblem names the constraint that cannot be met
        finish_run(OptimizationRun, run_id, OptimizationRun.Status.FAILED, message=str(exc))
        return
    except Exception as exc:  # a solver bug must not leave the run RUNNING forever
        log.exception("optimization run %s failed", run_id)
        message = f"internal error ({type(exc).__name__}): {exc}"
        finish_run(OptimizationRun, run_id, OptimizationRun.Status.FAILED, message=message)
        return
    knee = front.index(knee_point(front)) if front else None
    finish_run(
        OptimizationRun,
        run_id,
        OptimizationRun.Status.SUCCEEDED,
        solution=solution.to_dict(),
        pareto=[point.to_dict() for point in front],
        knee_index=knee,
        device=getattr(choose_backend("auto"), "device", "cpu"),
        message=f"{solution.method} {solution.status}: ${solution.cost_usd:.2f} over the horizon",
    )


# --- Scaling plans ------------------------------------------------------------------------------


class PlanError(Exception):
    """A plan action refused; `reason` says why in a sentence a user can act on."""

    status_code = 409

    def __init__(self, reason: str, *, rule: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.rule = rule


class PlanConflict(PlanError):
    """The plan is not in a state that allows the action (expired, superseded, applied...)."""


class PlanForbidden(PlanError):
    """The user may not take this action on this plan."""

    status_code = 403


class GuardrailBroken(PlanError):
    """The plan breaks a guardrail; `rule` names it."""


S = PlanStatus
# Every allowed move; anything else is refused by `transition`.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.PROPOSED, S.REJECTED, S.FAILED, S.SUPERSEDED}),
    S.PROPOSED: frozenset({S.APPROVED, S.REJECTED, S.EXPIRED, S.SUPERSEDED}),
    S.APPROVED: frozenset({S.APPLYING, S.REJECTED, S.EXPIRED, S.SUPERSEDED}),
    S.APPLYING: frozenset({S.APPLIED, S.FAILED}),
    S.APPLIED: frozenset({S.ROLLED_BACK}),
    S.FAILED: frozenset({S.ROLLED_BACK}),
}
WEBHOOK_EVENTS = {
    S.PROPOSED: "plan.proposed",
    S.APPROVED: "plan.approved",
    S.APPLIED: "plan.applied",
}


def plan_ttl() -> timedelta:
    """How long a proposed or approved plan stays valid (BALLAST_PLAN_TTL_MINUTES, 120)."""
    return timedelta(minutes=settings.PLAN_TTL_MINUTES)


def transition(
    plan_id: int,
    to: str,
    *,
    user=None,
    via: str = "system",
    reason: str = "",
    comment: str = "",
    detail: dict | None = None,
    check=None,
    **fields,
) -> ScalingPlan:
    """Move a plan to `to` under a row lock, record it in the audit trail, fire its webhook.

    `check(plan)` runs under the lock before the move and may raise a PlanError. The UPDATE is
    conditional on the status read under the lock as well, so two racing callers (on a database
    without row locks, SQLite) still give one transition: the other gets PlanConflict.
    """
    now = timezone.now()
    with transaction.atomic():
        plan = ScalingPlan.objects.select_for_update().select_related("workload").get(pk=plan_id)
        if to not in TRANSITIONS.get(plan.status, ()):
            raise PlanConflict(f"plan {plan_id} is {plan.status}; it cannot become {to}")
        if check is not None:
            check(plan)
        moved = ScalingPlan.objects.filter(pk=plan_id, status=plan.status).update(
            status=to, updated_at=now, **fields
        )
        if not moved:
            raise PlanConflict(f"plan {plan_id} changed while this request ran; reload it")
        previous = plan.status
        plan.refresh_from_db()
        audit.record(
            plan,
            f"plan.{to}",
            user=user,
            via=via,
            from_status=previous,
            to_status=to,
            reason=reason,
            comment=comment,
            detail=detail,
        )
        if to in WEBHOOK_EVENTS:
            webhooks.emit(
                WEBHOOK_EVENTS[to], team_id=plan.workload.team_id, payload=plan_event(plan)
            )
    return plan


def plan_event(plan: ScalingPlan) -> dict:
    """The webhook body for a plan event: enough to act on without another call."""
    return {
        "plan": plan.pk,
        "workload": plan.workload_id,
        "workload_name": plan.workload.name,
        "status": plan.status,
        "expected_cost_per_day_usd": plan.expected_cost_per_day_usd,
        "delta_cost_per_day_usd": plan.delta_cost_per_day_usd,
        "sla_risk": plan.sla_risk,
        "expires_at": plan.expires_at.isoformat(),
        "url": f"/api/v1/plans/{plan.pk}/",
    }


def request_plan(
    *,
    workload: Workload,
    by,
    via: str,
    origin: str = ScalingPlan.Origin.API,
    series: str = "requests",
    interval_s: int = 3600,
    horizon_intervals: int = 24,
    region: str = "",
) -> ScalingPlan:
    """Create a draft plan and queue its chain: forecast, then front and proposal."""
    options = {"series": series, "interval_s": interval_s, "horizon_intervals": horizon_intervals}
    return request_plans([workload], by=by, via=via, origin=origin, region=region, **options)[0]


def request_plans(
    workloads, *, by, via: str, origin: str = ScalingPlan.Origin.API, region: str = "", **options
) -> list[ScalingPlan]:
    """Draft a plan per workload in one transaction, then send their chains as one Celery group.

    The fan-out for many workloads (the scheduler's path): every chain is independent, so the
    group spreads them over every worker listening on the queues.
    """
    from celery import group

    from apps.plans import tasks  # tasks imports this module

    for workload in workloads:
        if not roles.can_write_team(by, workload.team):
            raise PlanForbidden(f"requesting a plan needs the sre or ci role in {workload.team}")
    with transaction.atomic():
        plans = []
        for workload in workloads:
            plan = ScalingPlan.objects.create(
                workload=workload,
                origin=origin,
                requested_by=by,
                expires_at=timezone.now() + plan_ttl(),
                region=region or planner.default_region(workload),
                **options,
            )
            audit.record(plan, "plan.requested", user=by, via=via, to_status=plan.status)
            plans.append(plan)
        ids = [plan.pk for plan in plans]
        transaction.on_commit(
            lambda: group(tasks.plan_chain(pk) for pk in ids).apply_async() if ids else None
        )
    return plans


def prepare_forecast(plan_id: int) -> bool:
    """Give a draft plan its forecast: a fresh enough stored one, else compute one now.

    Returns False (and fails the plan with the forecast's message) when there is none.
    """
    plan = ScalingPlan.objects.select_related("workload__sla").get(pk=plan_id)
    if plan.status != S.DRAFT:
        return False
    if plan.forecast_run_id is not None or plan.workload.kind == Workload.Kind.BATCH:
        return True  # a batch plan is made for the SLA's items per run, not a forecast
    points = history_points(plan)
    if points < MIN_POINTS:  # a new workload: its onboarding plan needs no forecast
        if sla_peak(plan) is None:
            fail_plan(
                plan_id,
                f"{points} observations of {plan.series!r} are too few to forecast "
                f"({MIN_POINTS} needed): set the SLA's peak_rps to plan a new workload for "
                "the load it is promised at",
            )
            return False
        return True
    run = find_forecast(plan)
    if run is None:
        run = ForecastRun.objects.create(
            workload=plan.workload,
            series=plan.series,
            horizon=forecast_steps(plan),
            quantiles=list(PLAN_QUANTILES),
            requested_by=plan.requested_by,
        )
        forecast_services.execute_forecast_run(run.pk)
        run.refresh_from_db()
    if run.status != ForecastRun.Status.SUCCEEDED:
        fail_plan(plan_id, f"forecast {run.pk} failed: {run.message}")
        return False
    ScalingPlan.objects.filter(pk=plan_id, forecast_run__isnull=True).update(forecast_run=run)
    return True


PLAN_QUANTILES = (0.5, 0.9, 0.99)
FORECAST_MAX_AGE = timedelta(hours=1)


def history_points(plan: ScalingPlan) -> int:
    """Observations of the plan's series, counted up to the fewest a forecast needs."""
    rows = MetricObservation.objects.filter(workload=plan.workload, series=plan.series)
    return rows[:MIN_POINTS].count()


def sla_peak(plan: ScalingPlan) -> float | None:
    """The `peak_rps` of the plan's workload's SLA, if it names one."""
    sla = getattr(plan.workload, "sla", None)
    return None if sla is None else sla.peak_rps


def plan_demand(plan: ScalingPlan) -> tuple[DemandForecast, datetime]:
    """(the demand per interval, the first interval's start) of a draft (`demand_source`).

    From its forecast's quantiles; for an onboarding plan (`prepare_forecast` left it without a
    forecast: too little history), every interval at the SLA's peak from the current interval on.

    Raises:
        ValueError: the forecast does not cover an interval, or the SLA's peak is gone.
    """
    run = plan.forecast_run
    if run is None:
        peak = sla_peak(plan)
        if peak is None:
            raise ValueError("the SLA's peak_rps was removed while the plan was made")
        now = timezone.now().timestamp()
        start = datetime.fromtimestamp(now - now % plan.interval_s, tz=UTC)
        return peak_demand(peak, plan.horizon_intervals), start
    demand = demand_from_forecast(
        {float(q): v for q, v in run.quantile_values.items()},
        step_s=run.interval_s,
        interval_s=plan.interval_s,
        counts=True,
    )
    rps = tuple(series[: plan.horizon_intervals] for series in demand.rps)
    return DemandForecast(demand.levels, rps), run.start


def demand_source(plan: ScalingPlan) -> str:
    """What a posed plan's demand came from, for its reason."""
    if plan.forecast_run_id is not None:
        return f"forecast {plan.forecast_run_id}"
    peak = plan.problem["demand"]["rps"][0][0]
    return (
        f"onboarding plan (fewer than {MIN_POINTS} observations to forecast): every interval "
        f"sized for the SLA's peak of {peak:g} rps"
    )


def find_forecast(plan: ScalingPlan) -> ForecastRun | None:
    """A recent succeeded forecast that starts after the newest observation and fits the plan.

    Recent: from the last hour; fits: covers the horizon, with the plan's quantiles, at a step
    that divides the planning interval.
    """
    latest = (
        MetricObservation.objects.filter(workload=plan.workload, series=plan.series)
        .order_by("-ts")
        .values_list("ts", flat=True)
        .first()
    )
    if latest is None:
        return None
    candidates = ForecastRun.objects.filter(
        workload=plan.workload,
        series=plan.series,
        status=ForecastRun.Status.SUCCEEDED,
        created_at__gte=timezone.now() - FORECAST_MAX_AGE,
        start__gt=latest,
    ).order_by("-created_at")
    horizon_s = plan.interval_s * plan.horizon_intervals
    for run in candidates[:10]:
        levels = {float(q) for q in run.quantile_values or {}}
        if (
            plan.interval_s % run.interval_s == 0
            and run.horizon * run.interval_s >= horizon_s
            and set(PLAN_QUANTILES) <= levels
        ):
            return run
    return None


def forecast_steps(plan: ScalingPlan) -> int:
    """Forecast steps covering the plan's horizon at the series' own step (median spacing)."""
    recent = list(
        MetricObservation.objects.filter(workload=plan.workload, series=plan.series)
        .order_by("-ts")
        .values_list("ts", flat=True)[:11]
    )
    gaps = sorted((a - b).total_seconds() for a, b in zip(recent, recent[1:], strict=False))
    step = int(gaps[len(gaps) // 2]) if gaps else plan.interval_s
    step = step if step > 0 and plan.interval_s % step == 0 else plan.interval_s
    return plan.interval_s * plan.horizon_intervals // step


def build_plan(plan_id: int) -> None:
    """Pose, measure and propose a plan in this process (the worker fans the measuring out)."""
    parts = [measure_part(plan_id, indices) for indices in pose_plan(plan_id)]
    if parts:
        propose_plan(plan_id, parts)


def pose_plan(plan_id: int) -> list[list[int]]:
    """Demand -> problem -> Pareto front -> candidate envelopes, stored on the draft.

    Returns the candidates to replay in parts that may run apart: one part per point of the
    front (its margins replay together, a roomier envelope reusing a narrower one's replay when
    that one's ceilings never bound). Nothing to replay ([]) when the plan failed or is no
    longer a draft.
    """
    plans = ScalingPlan.objects.select_related("workload__team", "workload__sla", "forecast_run")
    plan = plans.get(pk=plan_id)
    if plan.status != S.DRAFT:
        return []
    rules = planner.guardrails_for(plan.workload)
    live = planner.live_state(plan.workload)
    if plan.workload.kind == Workload.Kind.BATCH:
        return pose_batch_plan(plan, rules, live)
    try:
        demand, start_at = plan_demand(plan)
        problem = planner.build_problem(plan, demand, rules, live)
        replayable = measure.can_replay(plan.workload, plan.series)
        front = plan_front(problem, replayable=replayable)
        options = envelope_candidates(problem, front)
    except ValueError as exc:  # PlanningError, InfeasibleProblem: the message names the gap
        fail_plan(plan_id, str(exc))
        return []
    except Exception as exc:  # a solver bug must not leave the plan a draft forever
        log.exception("plan %s failed", plan_id)
        fail_plan(plan_id, f"internal error ({type(exc).__name__}): {exc}")
        return []
    ScalingPlan.objects.filter(pk=plan_id, status=S.DRAFT).update(
        problem=problem_to_dict(problem),
        front=options,
        start_at=start_at,
        current_allocation=live.allocation,
        current_cost_per_day_usd=round(cost_per_day(live.allocation, problem.offers), 6),
        live_fingerprint=live.fingerprint,
    )
    points: dict[float, list[int]] = {}
    for i, candidate in enumerate(options):
        points.setdefault(candidate["cost_usd"], []).append(i)
    return list(points.values())


def pose_batch_plan(plan: ScalingPlan, rules, live: planner.LiveState) -> list[list[int]]:
    """A batch workload's candidates for its next run (`optimization.batch.batch_front`).

    Stored on the draft like an online plan's; all are replayed in one part (a batch replay
    takes milliseconds).
    """
    try:
        jobs, offers = planner.batch_jobs(plan, rules)
        options = batch_candidates(batch_front(jobs, offers), offers)
    except ValueError as exc:  # PlanningError, InfeasibleProblem: the message names the gap
        fail_plan(plan.pk, str(exc))
        return []
    problem = {
        "kind": "batch",
        "offers": [asdict(o) for o in offers],
        "jobs": {name: asdict(job) for name, job in jobs.items()},
        "deadline_miss_allowed": DEADLINE_MISS_ALLOWED,
    }
    ScalingPlan.objects.filter(pk=plan.pk, status=S.DRAFT).update(
        problem=problem,
        front=options,
        start_at=planner.next_window_start(plan.workload.sla, timezone.now()),
        horizon_intervals=len(options[0]["schedule"]),
        current_allocation=live.allocation,
        current_cost_per_day_usd=round(cost_per_day(live.allocation, offers), 6),
        live_fingerprint=live.fingerprint,
    )
    return [list(range(len(options)))]


def measure_part(plan_id: int, indices: list[int]) -> list[list]:
    """[[index, measured figures or None, note], ...] for the candidates at `indices`.

    Never raises: a replay that fails leaves its candidates to the model's figures, and says
    why, so that the plan is still proposed.
    """
    plan = ScalingPlan.objects.select_related("workload").get(pk=plan_id)
    if plan.status != S.DRAFT or plan.start_at is None:
        return []
    chosen = [plan.front[i] for i in indices]
    try:
        if plan.is_batch:
            figures, note = measure.measure_batch(plan.problem, chosen), ""
        else:
            figures, note = measure.measure_candidates(
                plan.workload, chosen, start_at=plan.start_at, series=plan.series
            )
    except Exception as exc:
        log.exception("replaying plan %s's candidates %s failed", plan_id, indices)
        figures, note = [None] * len(chosen), f"replay failed ({type(exc).__name__}): {exc}"
    return [[i, f, note] for i, f in zip(indices, figures, strict=True)]


def propose_plan(plan_id: int, parts: list[list[list]]) -> None:
    """The measured candidates -> guardrails -> recommended one -> proposed (or refused)."""
    plan = ScalingPlan.objects.select_related("workload__team", "workload__sla").get(pk=plan_id)
    if plan.status != S.DRAFT or plan.problem is None:
        return
    batch = plan.is_batch
    allowed = (
        plan.problem["deadline_miss_allowed"]
        if batch
        else problem_from_dict(plan.problem).sla.allowed_late
    )
    candidates_ = measured_front(plan.front, [entry for part in parts for entry in part], allowed)
    rules = planner.guardrails_for(plan.workload)
    current = sum(plan.current_allocation.values())
    verdicts = [check_plan(shape_of(c, current, plan.problem), rules) for c in candidates_]
    passing = [
        i for i, checks in enumerate(verdicts) if all(c.ok or not c.blocking for c in checks)
    ]
    fields: dict = {"front": candidates_}
    if not passing:
        best = verdicts[recommend(candidates_, range(len(candidates_)), allowed)]
        broken = [c for c in best if not c.ok and c.blocking]
        fields["guardrail_checks"] = [c.to_dict() for c in best]
        reason = "; ".join(f"{c.rule}: {c.detail}" for c in broken)
        transition(
            plan_id,
            S.REJECTED,
            reason=f"every candidate breaks a guardrail, e.g. {reason}",
            message=f"refused by guardrail {broken[0].rule}: {broken[0].detail}",
            **fields,
        )
        return
    recommended = recommend(candidates_, passing, allowed)
    fields.update(
        recommended_index=recommended,
        chosen_index=recommended,
        guardrail_checks=[c.to_dict() for c in verdicts[recommended]],
    )
    chosen = candidates_[recommended]
    reason = (
        batch_reason(chosen, len(candidates_), allowed)
        if batch
        else online_reason(plan, chosen, len(candidates_))
    )
    plan = transition(plan_id, S.PROPOSED, reason=reason, **fields)
    supersede_older(plan)
    auto_approve(plan, rules)


def online_reason(plan: ScalingPlan, chosen: dict, count: int) -> str:
    """Why an online plan proposes its candidate."""
    measured = chosen["measured"]
    return (
        f"{demand_source(plan)}; "
        f"{'cheapest within the SLA' if chosen['meets_sla'] else 'least late'} of "
        f"{count} candidate envelopes{' as replayed' if measured else ''}: "
        "planned at the "
        f"{chosen['demand_quantile']:g} quantile, ${chosen['cost_per_day_usd']:.2f}/day at "
        f"{chosen['sla_risk']:.3%} SLA risk, ceilings x{chosen['margin']:g}"
        + (
            f"; replayed: ${measured['cost_per_day_usd']:.2f}/day, "
            f"{measured['sla_violation_rate']:.3%} over the target"
            if measured
            else ""
        )
        + ("" if chosen["meets_sla"] else "; no candidate meets the SLA")
    )


def batch_reason(chosen: dict, count: int, allowed: float) -> str:
    """Why a batch plan proposes its candidate."""
    measured = chosen["measured"]
    return (
        f"{'cheapest' if chosen['meets_sla'] else 'least often late'} of {count} schedules "
        f"for the next run ({chosen['envelope']['variant']}, "
        f"{', '.join(chosen['purchase_options'])}, work planned x{chosen['work_margin']:g}): "
        f"${chosen['cost_per_day_usd']:.2f} per run"
        + (
            f"; {measured['runs']} simulated runs miss the deadline "
            f"{measured['sla_violation_rate']:.2%} of the time (at most {allowed:.0%} allowed)"
            if measured
            else "; not replayed"
        )
    )


def measured_front(candidates: list[dict], measured: list[list], allowed_late: float) -> list[dict]:
    """The candidate envelopes (`policies.envelope.envelope_candidates`) with their replays.

    Each candidate's `envelope` is what an approval approves and the controller acts inside:
    its model variant and, per interval, the most replicas, the non-spot floor, the purchase
    options and the replicas' spend ceiling. It is replayed over the workload's newest traffic
    (`measure_part`: [index, figures, note] each); a candidate meets its SLA when the replayed
    violation rate (else, without a replay, the allocation model's risk) is within the share
    the percentile allows.
    """
    found = {index: (figures, note) for index, figures, note in measured}
    for i, candidate in enumerate(candidates):
        figures, note = found.get(i, (None, "not replayed"))
        candidate["measured"] = figures
        candidate["measured_note"] = note
        risk = figures["sla_violation_rate"] if figures else candidate["sla_risk"]
        candidate["meets_sla"] = risk <= allowed_late + 1e-12
    return candidates


def shape_of(candidate: dict, current_replicas: int, problem: dict | None) -> PlanShape:
    """What the guardrails read of one candidate (as stored in a plan's front).

    `current_replicas` run now; `problem` is the plan's stored problem, whose SLA the candidate
    is held to.
    """
    sla = (problem or {}).get("sla")
    measured = candidate.get("measured")
    if (problem or {}).get("kind") == "batch":
        return PlanShape(
            replicas=candidate["replicas"],
            purchase_options=candidate["purchase_options"],
            cost_per_day_usd=candidate["cost_per_day_usd"],
            current_replicas=0,  # a run starts from none
            sla_risk=measured["sla_violation_rate"] if measured else candidate["sla_risk"],
            sla_allowed_late=problem["deadline_miss_allowed"],
            late_what="of simulated runs miss the deadline",
        )
    return PlanShape(
        replicas=candidate["replicas"],
        purchase_options=candidate["purchase_options"],
        cost_per_day_usd=candidate["cost_per_day_usd"],
        current_replicas=current_replicas,
        sla_risk=measured["sla_violation_rate"] if measured else candidate.get("sla_risk", 0.0),
        sla_allowed_late=1 - sla["latency_percentile"] / 100 if sla else None,
    )


def fail_plan(plan_id: int, message: str) -> None:
    """A draft that could not be built ends FAILED with the reason."""
    transition(plan_id, S.FAILED, reason=message, message=message)


def supersede_older(plan: ScalingPlan) -> None:
    """Older open plans of the same workload give way to `plan`."""
    older = ScalingPlan.objects.open().filter(workload=plan.workload, pk__lt=plan.pk)
    for old_id in older.values_list("pk", flat=True):
        try:
            transition(
                old_id,
                S.SUPERSEDED,
                reason=f"plan {plan.pk} is newer",
                message=f"superseded by plan {plan.pk}",
            )
        except PlanConflict:
            pass  # it moved on meanwhile (approved and applying, say): leave it


def auto_approve(plan: ScalingPlan, rules) -> None:
    """Approve a small change without a human when the team turned the rule on."""
    if plan.current_cost_per_day_usd is None or plan.delta_cost_per_day_usd is None:
        return
    if plan.chosen and not plan.chosen.get("meets_sla", True):
        return  # a plan that breaks its SLA waits for a person, whatever the change
    ok, why = auto_approvable(
        rules,
        current_cost_per_day_usd=plan.current_cost_per_day_usd,
        delta_cost_per_day_usd=plan.delta_cost_per_day_usd,
    )
    if not ok:
        return
    try:
        transition(
            plan.pk,
            S.APPROVED,
            reason=f"auto-approve rule: {why}",
            check=approvable_check(plan.workload),
            auto_approved=True,
            decided_at=timezone.now(),
        )
    except PlanError as exc:
        log.info("plan %s not auto-approved: %s", plan.pk, exc.reason)


def decision_refusal(plan: ScalingPlan, user, auth, *, approving: bool) -> str | None:
    """Why `user` may not approve (or reject) `plan`, or None when they may."""
    team = plan.workload.team
    if approving and user.pk == plan.requested_by_id:
        return "four eyes: whoever requested a plan cannot approve it"
    if roles.holds_role(user, team, Role.SRE):
        return None
    if roles.holds_role(user, team, Role.CI):
        if TokenScope.APPROVE_PLANS in roles.token_scopes(auth):
            return None
        return f"this CI credential was not given the {TokenScope.APPROVE_PLANS} scope"
    return f"deciding on plans needs the sre role in team {team}"


def approvable_check(workload: Workload):
    """The check `transition` runs under the plan's lock before approving or applying.

    The guardrails and the live state (which asks every deployment target over the network)
    are read here, before the lock is taken, so that no row stays locked during those calls;
    under the lock the check only compares: not expired, not stale, the chosen candidate within
    the guardrails, now inside a change window.
    """
    rules = planner.guardrails_for(workload)
    live = planner.live_state(workload)

    def check(plan: ScalingPlan) -> None:
        if plan.expires_at <= timezone.now():
            raise PlanConflict(f"plan {plan.pk} expired at {plan.expires_at:%Y-%m-%d %H:%M} UTC")
        if live.fingerprint != plan.live_fingerprint:
            raise PlanConflict(
                "stale: the live state changed since this plan was made (another plan was "
                "applied or a target changed); request a new plan"
            )
        checks = check_plan(
            shape_of(plan.chosen, sum(live.allocation.values()), plan.problem), rules
        )
        window = check_window(rules, timezone.now())
        for verdict in [*checks, *([window] if window else [])]:
            if not verdict.ok and verdict.blocking:
                raise GuardrailBroken(
                    f"guardrail {verdict.rule}: {verdict.detail}", rule=verdict.rule
                )

    return check


def expire_if_due(plan_id: int) -> bool:
    """Mark a proposed or approved plan EXPIRED once its time is up; True if it did."""
    try:
        transition(
            plan_id,
            S.EXPIRED,
            reason="time to live ran out",
            message="expired before it was applied",
            check=_is_due,
        )
    except PlanError:
        return False
    return True


def _is_due(plan: ScalingPlan) -> None:
    if plan.expires_at > timezone.now():
        raise PlanConflict("not due")


def approve_plan(plan_id: int, *, user, auth=None, via: str, comment: str = "") -> ScalingPlan:
    """Approve the chosen candidate: four eyes, role or scope, not expired, within guardrails."""
    plan = ScalingPlan.objects.select_related("workload__team").get(pk=plan_id)
    refusal = decision_refusal(plan, user, auth, approving=True)
    if refusal:
        raise PlanForbidden(refusal)
    if plan.status in (S.PROPOSED, S.APPROVED) and plan.expires_at <= timezone.now():
        expire_if_due(plan_id)
        raise PlanConflict(f"plan {plan_id} expired at {plan.expires_at:%Y-%m-%d %H:%M} UTC")
    if plan.status != S.PROPOSED:
        raise PlanConflict(_state_refusal(plan, "approved"))
    return transition(
        plan_id,
        S.APPROVED,
        user=user,
        via=via,
        comment=comment,
        check=approvable_check(plan.workload),
        decided_by=user,
        decided_at=timezone.now(),
        decision_comment=comment,
    )


def reject_plan(plan_id: int, *, user, auth=None, via: str, comment: str = "") -> ScalingPlan:
    """Reject a proposed or approved plan (the requester may withdraw their own)."""
    plan = ScalingPlan.objects.select_related("workload__team").get(pk=plan_id)
    refusal = decision_refusal(plan, user, auth, approving=False)
    if refusal and user.pk != plan.requested_by_id:
        raise PlanForbidden(refusal)
    if plan.status not in (S.PROPOSED, S.APPROVED):
        raise PlanConflict(_state_refusal(plan, "rejected"))
    return transition(
        plan_id,
        S.REJECTED,
        user=user,
        via=via,
        comment=comment,
        reason=comment,
        decided_by=user,
        decided_at=timezone.now(),
        decision_comment=comment,
    )


def choose_candidate(
    plan_id: int, index: int, *, user, auth=None, via: str, reason: str
) -> ScalingPlan:
    """An SRE picks another point of the front before approving; the choice is recorded."""
    if not reason.strip():
        raise PlanError("reason: say why this candidate rather than the recommended one")
    workload = ScalingPlan.objects.select_related("workload__team").get(pk=plan_id).workload
    rules = planner.guardrails_for(workload)
    live = planner.live_state(workload)  # targets are asked before the row is locked
    with transaction.atomic():
        plan = (
            ScalingPlan.objects.select_for_update().select_related("workload__team").get(pk=plan_id)
        )
        refusal = decision_refusal(plan, user, auth, approving=False)
        if refusal:
            raise PlanForbidden(refusal)
        if plan.status != S.PROPOSED:
            raise PlanConflict(_state_refusal(plan, "changed"))
        if not 0 <= index < len(plan.front):
            raise PlanError(f"candidate: must be between 0 and {len(plan.front) - 1}, got {index}")
        checks = check_plan(
            shape_of(plan.front[index], sum(live.allocation.values()), plan.problem), rules
        )
        broken = [c for c in checks if not c.ok and c.blocking]
        if broken:
            raise GuardrailBroken(
                f"candidate {index} breaks guardrail {broken[0].rule}: {broken[0].detail}",
                rule=broken[0].rule,
            )
        previous = plan.chosen_index
        ScalingPlan.objects.filter(pk=plan_id).update(
            chosen_index=index,
            choice_reason=reason,
            chosen_by=user,
            guardrail_checks=[c.to_dict() for c in checks],
            updated_at=timezone.now(),
        )
        plan.refresh_from_db()
        audit.record(
            plan,
            "plan.candidate_chosen",
            user=user,
            via=via,
            from_status=plan.status,
            to_status=plan.status,
            reason=reason,
            detail={"from_index": previous, "to_index": index, "candidate": plan.front[index]},
        )
    return plan


def _state_refusal(plan: ScalingPlan, verb: str) -> str:
    if plan.status == S.SUPERSEDED:
        return f"plan {plan.pk} was superseded ({plan.message}); it cannot be {verb}"
    if plan.status == S.EXPIRED:
        return f"plan {plan.pk} expired; it cannot be {verb}"
    return f"plan {plan.pk} is {plan.status}; it cannot be {verb}"


def expire_due_plans() -> int:
    """Expire every proposed or approved plan past its time to live (Celery beat)."""
    due = ScalingPlan.objects.filter(
        status__in=[S.PROPOSED, S.APPROVED], expires_at__lte=timezone.now()
    ).values_list("pk", flat=True)
    return sum(expire_if_due(pk) for pk in list(due))


def request_scheduled_plans() -> int:
    """Request a plan for every enabled schedule that is due (Celery beat, every minute).

    Due schedules are claimed one by one (a conditional update, so two beat ticks never both
    take one), then planned in one group per requester.
    """
    now = timezone.now()
    claimed: dict[int, list] = {}
    for schedule in PlanSchedule.objects.filter(enabled=True).select_related(
        "workload__team", "requested_by"
    ):
        last = schedule.last_requested_at
        if last is not None and now - last < timedelta(minutes=schedule.every_minutes):
            continue
        if PlanSchedule.objects.filter(pk=schedule.pk, last_requested_at=last).update(
            last_requested_at=now
        ):
            claimed.setdefault(schedule.requested_by_id, []).append(schedule)
    count = 0
    for schedules in claimed.values():
        allowed = []
        for schedule in schedules:
            if roles.can_write_team(schedule.requested_by, schedule.workload.team):
                allowed.append(schedule.workload)
            else:
                log.warning("plan schedule %s skipped: its owner lost the write role", schedule.pk)
        if allowed:
            request_plans(
                allowed,
                by=schedules[0].requested_by,
                via="schedule",
                origin=ScalingPlan.Origin.SCHEDULE,
            )
            count += len(allowed)
    return count


def apply_refusal(plan: ScalingPlan, user, auth) -> str | None:
    """Why `user` may not start the apply of `plan`, or None."""
    team = plan.workload.team
    if roles.holds_role(user, team, Role.SRE):
        return None
    if roles.holds_role(user, team, Role.CI):
        if TokenScope.APPLY_PLANS in roles.token_scopes(auth):
            return None
        return f"this CI credential was not given the {TokenScope.APPLY_PLANS} scope"
    return f"applying plans needs the sre role in team {team}"


def start_apply(plan_id: int, *, user, auth=None, via: str) -> ScalingPlan:
    """APPROVED -> APPLYING once more checks pass (live state, window), then queue the steps."""
    from apps.actuation import tasks  # actuation imports this module

    plan = ScalingPlan.objects.select_related("workload__team").get(pk=plan_id)
    refusal = apply_refusal(plan, user, auth)
    if refusal:
        raise PlanForbidden(refusal)
    if plan.status == S.APPROVED and plan.expires_at <= timezone.now():
        expire_if_due(plan_id)
        raise PlanConflict(f"plan {plan_id} expired at {plan.expires_at:%Y-%m-%d %H:%M} UTC")
    if plan.status != S.APPROVED:
        raise PlanConflict(_state_refusal(plan, "applied") + " (only approved plans apply)")
    with transaction.atomic():
        check = approvable_check(plan.workload)
        plan = transition(plan_id, S.APPLYING, user=user, via=via, check=check)
        transaction.on_commit(lambda: tasks.apply_plan.delay(plan_id))
    return plan


def start_rollback(plan_id: int, *, user, auth=None, via: str) -> ScalingPlan:
    """Queue the return of a failed or applied plan's targets to their recorded state."""
    from apps.actuation import tasks  # actuation imports this module

    plan = ScalingPlan.objects.select_related("workload__team").get(pk=plan_id)
    refusal = apply_refusal(plan, user, auth)
    if refusal:
        raise PlanForbidden(refusal.replace("applying", "rolling back"))
    if plan.status not in (S.FAILED, S.APPLIED):
        raise PlanConflict(
            f"plan {plan_id} is {plan.status}; only failed or applied plans roll back"
        )
    if not plan.recorded_states.exists():
        raise PlanConflict(f"plan {plan_id} changed nothing, so there is nothing to roll back")
    with transaction.atomic():
        audit.record(plan, "plan.rollback_requested", user=user, via=via, from_status=plan.status)
        transaction.on_commit(lambda: tasks.rollback_plan.delay(plan_id))
    return plan
