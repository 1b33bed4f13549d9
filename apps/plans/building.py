"""A plan from request to proposal.

Drafted, posed (problem, front, candidate envelopes), measured by replay (the worker fans the
replays out as a chord), proposed with the guardrails' verdicts.
"""

import logging
from dataclasses import asdict, replace

from django.db import transaction
from django.utils import timezone

from apps.accounts import roles
from apps.plans import audit, measure, planner
from apps.plans.decisions import auto_approve, shape_of
from apps.plans.demand import demand_source, plan_demand
from apps.plans.insurance import insure_candidates
from apps.plans.lifecycle import PlanForbidden, fail_plan, plan_ttl, supersede_older, transition
from apps.plans.models import PlanStatus, ScalingPlan
from apps.workloads.models import Workload
from optimization.batch import DEADLINE_MISS_ALLOWED, batch_front
from optimization.guardrails import check_plan
from optimization.pareto import plan_front
from optimization.planning import cost_per_day
from optimization.problem import problem_to_dict
from policies.candidate import PlanCandidate, batch_candidates, envelope_candidates, recommend

log = logging.getLogger(__name__)

S = PlanStatus


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


def build_plan(plan_id: int) -> None:
    """Pose, measure and propose a plan in this process (the worker fans the measuring out)."""
    parts = [measure_part(plan_id, indices) for indices in pose_plan(plan_id)]
    if parts:
        propose_plan(plan_id, parts)


def pose_plan(plan_id: int) -> list[list[int]]:
    """Demand -> problem -> Pareto front -> insured candidate envelopes, stored on the draft.

    Each candidate's envelope keeps the non-spot floor its spot insurance calls for, and the
    insurance is stored beside the front (`apps.plans.insurance`), before the replays.

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
        options, insurance = insure_candidates(
            plan.workload, demand, envelope_candidates(problem, front), rules
        )
    except ValueError as exc:  # PlanningError, InfeasibleProblem: the message names the gap
        fail_plan(plan_id, str(exc))
        return []
    except Exception as exc:  # a solver bug must not leave the plan a draft forever
        log.exception("plan %s failed", plan_id)
        fail_plan(plan_id, f"internal error ({type(exc).__name__}): {exc}")
        return []
    ScalingPlan.objects.filter(pk=plan_id, status=S.DRAFT).update(
        problem=problem_to_dict(problem),
        front=[c.to_json() for c in options],
        insurance=insurance,
        start_at=start_at,
        current_allocation=live.allocation,
        current_cost_per_day_usd=round(cost_per_day(live.allocation, problem.offers), 6),
        live_fingerprint=live.fingerprint,
        targets=planner.frozen_targets(plan.workload),
    )
    points: dict[float, list[int]] = {}
    for i, candidate in enumerate(options):
        points.setdefault(candidate.cost_usd, []).append(i)
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
        front=[c.to_json() for c in options],
        start_at=planner.next_window_start(plan.workload.sla, timezone.now()),
        horizon_intervals=len(options[0].schedule),
        current_allocation=live.allocation,
        current_cost_per_day_usd=batch_cost_now(live),
        live_fingerprint=live.fingerprint,
        targets=planner.frozen_targets(plan.workload),
    )
    return [list(range(len(options)))]


def batch_cost_now(live: planner.LiveState) -> float:
    """What a batch workload's runs cost now: its applied plan's run, one a day (else none)."""
    applied = ScalingPlan.objects.filter(pk=live.applied_plan_id).first()
    cost = applied.expected_cost_per_day_usd if applied and applied.is_batch else None
    return round(cost or 0.0, 6)


def measure_part(plan_id: int, indices: list[int]) -> list[list]:
    """[[index, measured figures or None, note], ...] for the candidates at `indices`.

    Never raises: a replay that fails leaves its candidates to the model's figures, and says
    why, so that the plan is still proposed.
    """
    plan = ScalingPlan.objects.select_related("workload").get(pk=plan_id)
    if plan.status != S.DRAFT or plan.start_at is None:
        return []
    candidates = plan.candidates()
    chosen = [candidates[i] for i in indices]
    try:
        if plan.is_batch:
            figures, note = measure.measure_batch(plan, chosen), ""
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
        else plan.allocation_problem().sla.allowed_late
    )
    measured = [entry for part in parts for entry in part]
    candidates_ = measured_front(plan.candidates(), measured, allowed)
    rules = planner.guardrails_for(plan.workload)
    current = sum(plan.current_allocation.values())
    verdicts = [check_plan(shape_of(c, current, plan.problem), rules) for c in candidates_]
    passing = [
        i for i, checks in enumerate(verdicts) if all(c.ok or not c.blocking for c in checks)
    ]
    fields: dict = {"front": [c.to_json() for c in candidates_]}
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


def online_reason(plan: ScalingPlan, chosen: PlanCandidate, count: int) -> str:
    """Why an online plan proposes its candidate."""
    measured = chosen.measured
    return (
        f"{demand_source(plan)}; "
        f"{'cheapest within the SLA' if chosen.meets_sla else 'least late'} of "
        f"{count} candidate envelopes{' as replayed' if measured else ''}: "
        "planned at the "
        f"{chosen.demand_quantile:g} quantile, ${chosen.cost_per_day_usd:.2f}/day at "
        f"{chosen.sla_risk:.3%} SLA risk, ceilings x{chosen.margin:g}"
        + (
            f"; replayed: ${measured['cost_per_day_usd']:.2f}/day, "
            f"{measured['sla_violation_rate']:.3%} over the target"
            if measured
            else ""
        )
        + ("" if chosen.meets_sla else "; no candidate meets the SLA")
    )


def batch_reason(chosen: PlanCandidate, count: int, allowed: float) -> str:
    """Why a batch plan proposes its candidate."""
    measured = chosen.measured
    return (
        f"{'cheapest' if chosen.meets_sla else 'least often late'} of {count} schedules "
        f"for the next run ({chosen.envelope.variant}, "
        f"{', '.join(chosen.purchase_options)}, work planned x{chosen.work_margin or 1.0:g}): "
        f"${chosen.cost_per_day_usd:.2f} per run"
        + (
            f"; {measured['runs']} simulated runs miss the deadline "
            f"{measured['sla_violation_rate']:.2%} of the time (at most {allowed:.0%} allowed)"
            if measured
            else "; not replayed"
        )
    )


def measured_front(
    candidates: list[PlanCandidate], measured: list[list], allowed_late: float
) -> list[PlanCandidate]:
    """The candidate envelopes (`policies.candidate.envelope_candidates`) with their replays.

    Each candidate's envelope is what an approval approves and the controller acts inside:
    its model variant and, per interval, the most replicas, the non-spot floor, the purchase
    options and the replicas' spend ceiling. It is replayed over the workload's newest traffic
    (`measure_part`: [index, figures, note] each); a candidate meets its SLA when the replayed
    violation rate (else, without a replay, the allocation model's risk) is within the share
    the percentile allows.
    """
    found = {index: (figures, note) for index, figures, note in measured}
    out = []
    for i, candidate in enumerate(candidates):
        figures, note = found.get(i, (None, "not replayed"))
        replayed = replace(candidate, measured=figures, measured_note=note)
        out.append(replace(replayed, meets_sla=replayed.judged[1] <= allowed_late + 1e-12))
    return out
