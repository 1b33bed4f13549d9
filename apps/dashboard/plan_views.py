"""Plan pages: a workload's plans with a request button, and one plan with its decision forms.

The forms post to these views (CSRF-protected) and go through the same services as the API, so
the rules (four eyes, roles, states, guardrails) are the same; each action ends in a message, a
refusal too (the page answers a redirect, not a 403 or 409, so the refusal is audited here, not
by the edge). While a plan may still move (draft to applying) both pages poll a fragment of
themselves every few seconds (htmx): the answer is 204, nothing to swap, until the plan changes.
"""

import hashlib
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.accounts import roles
from apps.dashboard import figures
from apps.plans import planner, review, services
from apps.plans.models import AuditEvent, ScalingPlan
from apps.plans.refusals import record_refusal
from apps.workloads.models import Workload


@login_required
def workload_plans(request, workload_id: int):
    """The workload's plans, newest first, and a button to request one."""
    workload = get_object_or_404(Workload.objects.visible_to(request.user), pk=workload_id)
    plans = list(ScalingPlan.objects.filter(workload=workload).select_related("requested_by")[:50])
    replaced = review.replaced_by(workload.pk)
    for plan in plans:
        plan.replaced_by = replaced.get(plan.pk)  # type: ignore[attr-defined]
    shown = ",".join(f"{p.pk}:{p.status}:{p.updated_at.timestamp()}:{p.replaced_by}" for p in plans)
    version = hashlib.sha256(shown.encode()).hexdigest()[:16]  # what the rows show
    part = request.GET.get("part") == "rows" and request.htmx
    if part and request.GET.get("version") == version:
        return HttpResponse(status=204)  # htmx swaps nothing
    return render(
        request,
        "dashboard/_plan_rows.html" if part else "dashboard/workload_plans.html",
        {
            "workload": workload,
            "plans": plans,
            "version": version,
            "moving": any(p.status in review.MOVING for p in plans),
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
    messages.success(
        request,
        f"Plan {plan.pk} requested: it is built in the background, and this page follows it.",
    )
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
    """One plan: cost, risk, schedule, guardrails, the audit trail, and the decision forms.

    Polled by htmx with `part=live`, it answers the status and actions alone (with the
    candidates, out of band), 204 while nothing changed, or a full refresh once a draft that
    the page was drawn without figures has been built.
    """
    plan = _visible_plan(request, plan_id)
    if request.htmx and request.GET.get("part") == "live":
        drawn = request.GET.get("drawn", "")
        if drawn == ScalingPlan.Status.DRAFT and plan.status != drawn:
            return HttpResponse(headers={"HX-Refresh": "true"})
        following = plan.status in (ScalingPlan.Status.DRAFT, ScalingPlan.Status.APPLYING)
        if request.GET.get("version") == version_of(plan) and not following:
            return HttpResponse(status=204)  # htmx swaps nothing; progress always changes
        live = _live_context(request, plan)
        return render(
            request,
            "dashboard/_plan_live.html",
            {**live, "oob": True, "drawn": drawn, "drawn_choice": request.GET.get("choice", "")},
        )
    live = _live_context(request, plan)
    charts = {}
    chosen = plan.chosen
    if chosen:
        budget = planner.guardrails_for(plan.workload).budget_per_day_usd
        rows = _envelope_rows(plan)
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
            "schedule_figure": figures.schedule_figure(
                chosen.schedule,
                [f"{r['start']:%a %H:%M}" for r in rows] if plan.start_at else None,
            ),
            "envelope_rows": rows,
            "envelope_variant": chosen.envelope.variant,
            "insurance": _insurance(plan),
            "diff": review.diff_from_in_force(plan),
        }
    return render(
        request,
        "dashboard/plan.html",
        {
            **live,
            "drawn": plan.status,
            "drawn_choice": str(plan.chosen_index),
            "events": AuditEvent.objects.filter(plan_id=plan.pk).order_by("at", "pk"),
            **charts,
        },
    )


def version_of(plan: ScalingPlan) -> str:
    """What the live part shows of the plan, changed or not: its state, choice, successor."""
    replaced = review.successor(plan)
    return f"{plan.status}:{plan.updated_at.timestamp()}:{plan.chosen_index}:{replaced}"


def _live_context(request, plan: ScalingPlan) -> dict:
    """What the polled part of the plan page shows: status, progress, who may do what."""
    S = ScalingPlan.Status
    user = request.user
    refusal = services.decision_refusal(plan, user, None, approving=True)
    in_force = review.in_force(plan.workload_id)
    return {
        "plan": plan,
        "version": version_of(plan),
        "moving": plan.status in review.MOVING,
        "progress": review.progress(plan),
        "in_force": in_force is not None and in_force.pk == plan.pk,
        "replaced_by": review.successor(plan),
        "candidates": list(enumerate(plan.candidates())),
        "can_decide": refusal is None and plan.status == S.PROPOSED,
        "can_choose": plan.status == S.PROPOSED
        and user.pk != plan.requested_by_id
        and services.decision_refusal(plan, user, None, approving=False) is None,
        "can_withdraw": user.pk == plan.requested_by_id and plan.status in (S.PROPOSED, S.APPROVED),
        "decision_refusal": refusal,
        "approvers": review.possible_approvers(plan),
        "team_sres": review.team_sres(plan),
        "can_apply": services.apply_refusal(plan, user, None) is None and plan.status == S.APPROVED,
        "apply_targets": review.apply_targets(plan) if plan.status == S.APPROVED else [],
    }


@login_required
@require_POST
def decide(request, plan_id: int, decision: str):
    """Approve, reject, withdraw, choose a candidate or start the apply, from the plan page."""
    plan = _visible_plan(request, plan_id)
    comment = request.POST.get("comment", "")[:2000]
    try:
        if decision == "approve":
            services.approve_plan(plan.pk, user=request.user, via="page", comment=comment)
            done = f"Plan {plan.pk} approved: anyone with the sre role in the team may apply it."
        elif decision == "reject":
            services.reject_plan(plan.pk, user=request.user, via="page", comment=comment)
            done = f"Plan {plan.pk} rejected: it will not be applied."
        elif decision == "withdraw":
            if request.user.pk != plan.requested_by_id:
                raise services.PlanForbidden(
                    "only whoever requested a plan withdraws it; an SRE of the team may reject it"
                )
            services.reject_plan(plan.pk, user=request.user, via="page", comment=comment)
            done = f"Plan {plan.pk} withdrawn: it will not be applied."
        elif decision == "choose":
            index = request.POST.get("candidate", "")
            if not index.isdigit():
                raise services.PlanError("candidate: choose one of the front's points")
            plan = services.choose_candidate(
                plan.pk, int(index), user=request.user, via="page", reason=comment
            )
            done = (
                f"Candidate {index} chosen for plan {plan.pk} "
                f"(${plan.expected_cost_per_day_usd:.2f}/day): another SRE of the team approves it."
            )
        elif decision == "apply":
            if request.POST.get("confirm") != "yes":
                raise services.PlanError(
                    "apply: confirm it under Apply, after reading the targets it touches"
                )
            targets = review.apply_targets(plan)
            live = sum(not t["dry_run"] for t in targets)
            services.start_apply(plan.pk, user=request.user, via="page")
            done = (
                f"Plan {plan.pk} is being applied to {len(targets)} target(s) "
                f"({live} live, {len(targets) - live} dry run); this page follows it."
            )
        else:
            raise Http404(decision)
    except services.PlanError as exc:
        _refused(request, exc)
    else:
        messages.success(request, done)
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
