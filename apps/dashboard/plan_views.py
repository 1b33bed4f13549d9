"""Plan pages: a workload's plans with a request button, and one plan with its decision forms.

The forms post to these views (CSRF-protected) and go through the same services as the API, so
the rules (four eyes, roles, states, guardrails) are the same; a refusal is shown as a message
(the page answers a redirect, not a 403 or 409, so the refusal is audited here, not by the edge).
"""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.accounts import roles
from apps.dashboard import figures
from apps.plans import planner, services
from apps.plans.models import AuditEvent, ScalingPlan
from apps.plans.refusals import record_refusal
from apps.workloads.models import Workload


@login_required
def workload_plans(request, workload_id: int):
    """The workload's plans, newest first, and a button to request one."""
    workload = get_object_or_404(Workload.objects.visible_to(request.user), pk=workload_id)
    plans = ScalingPlan.objects.filter(workload=workload).select_related("requested_by")[:50]
    return render(
        request,
        "dashboard/workload_plans.html",
        {
            "workload": workload,
            "plans": plans,
            "can_request": roles.can_write_team(request.user, workload.team),
        },
    )


@login_required
@require_POST
def request_plan(request, workload_id: int):
    """Queue a plan for the workload, then show its page."""
    workload = get_object_or_404(Workload.objects.visible_to(request.user), pk=workload_id)
    try:
        plan = services.request_plan(
            workload=workload, by=request.user, via="page", origin=ScalingPlan.Origin.PAGE
        )
    except services.PlanError as exc:
        _refused(request, exc)
        return redirect("dashboard:workload-plans", workload_id=workload.pk)
    messages.info(request, f"Plan {plan.pk} requested: it is built in the background.")
    return redirect("dashboard:plan", plan_id=plan.pk)


def _envelope_rows(plan: ScalingPlan) -> list[dict]:
    """The chosen candidate's envelope per interval, with its clock time (UTC) when known."""
    rows = []
    chosen = plan.chosen
    schedule = chosen.schedule if chosen else ()
    for i, (hour, placements) in enumerate(zip(plan.envelope_hours(), schedule, strict=False)):
        start = plan.start_at + timedelta(seconds=i * plan.interval_s) if plan.start_at else None
        rows.append(
            {
                "start": start,
                "index": i,
                "planned": ", ".join(
                    f"{p.count} × {p.offer.replace('_', '-')}" for p in placements if p.count
                )
                or "none",
                "bounds": hour,
            }
        )
    return rows


def _insurance(plan: ScalingPlan) -> dict | None:
    """The chosen candidate's spot insurance, its largest pool's share in percent, or None."""
    insurance = plan.chosen_insurance
    if insurance is None or plan.is_batch:
        return None
    return {**insurance, "largest_pool_pct": round(100 * insurance["largest_pool_share"])}


@login_required
def plan_detail(request, plan_id: int):
    """One plan: cost, risk, schedule, guardrails, the audit trail, and the decision forms."""
    plan = _visible_plan(request, plan_id)
    refusal = services.decision_refusal(plan, request.user, None, approving=True)
    charts = {}
    chosen = plan.chosen
    if chosen:
        budget = planner.guardrails_for(plan.workload).budget_per_day_usd
        charts = {
            "pareto_figure": figures.pareto_figure(
                plan.candidates(),
                plan.chosen_index,
                plan.recommended_index,
                plan.current_cost_per_day_usd,
                budget,
                allowed_late=_allowed_late(plan),
                batch=plan.is_batch,
            ),
            "schedule_figure": figures.schedule_figure(chosen.schedule),
            "envelope_rows": _envelope_rows(plan),
            "envelope_variant": chosen.envelope.variant,
            "insurance": _insurance(plan),
        }
    return render(
        request,
        "dashboard/plan.html",
        {
            "plan": plan,
            "candidates": list(enumerate(plan.candidates())),
            "can_decide": refusal is None and plan.status == ScalingPlan.Status.PROPOSED,
            "decision_refusal": refusal,
            "can_apply": services.apply_refusal(plan, request.user, None) is None
            and plan.status == ScalingPlan.Status.APPROVED,
            "events": AuditEvent.objects.filter(plan_id=plan.pk).order_by("at", "pk"),
            **charts,
        },
    )


@login_required
@require_POST
def decide(request, plan_id: int, decision: str):
    """Approve, reject, choose a candidate or start the apply, from the plan page."""
    plan = _visible_plan(request, plan_id)
    comment = request.POST.get("comment", "")[:2000]
    try:
        if decision == "approve":
            services.approve_plan(plan.pk, user=request.user, via="page", comment=comment)
        elif decision == "reject":
            services.reject_plan(plan.pk, user=request.user, via="page", comment=comment)
        elif decision == "choose":
            index = request.POST.get("candidate", "")
            if not index.isdigit():
                raise services.PlanError("candidate: choose one of the front's points")
            services.choose_candidate(
                plan.pk, int(index), user=request.user, via="page", reason=comment
            )
        elif decision == "apply":
            services.start_apply(plan.pk, user=request.user, via="page")
        else:
            raise Http404(decision)
    except services.PlanError as exc:
        _refused(request, exc)
    return redirect("dashboard:plan", plan_id=plan.pk)


def _refused(request, exc: services.PlanError) -> None:
    """Show the refusal; audit it as the API's 403 or 409 would be (bad input is not audited)."""
    messages.error(request, exc.reason)
    if type(exc) is not services.PlanError:
        record_refusal(
            user=request.user,
            address=request.META.get("REMOTE_ADDR", ""),
            method=request.method,
            path=request.path,
            status=exc.status_code,
            reason=exc.reason,
            via="page",
        )


def _visible_plan(request, plan_id: int) -> ScalingPlan:
    return get_object_or_404(
        ScalingPlan.objects.visible_to(request.user).select_related("workload__team"),
        pk=plan_id,
    )


def _allowed_late(plan) -> float | None:
    """The share over target the plan's SLA allows (1 % for a p99), or None without one."""
    problem = plan.problem or {}
    if plan.is_batch:
        return problem["deadline_miss_allowed"]
    sla = problem.get("sla")
    return 1 - sla["latency_percentile"] / 100 if sla else None
