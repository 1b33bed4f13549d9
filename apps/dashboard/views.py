"""Pages: home, the FinOps overview, a workload's traffic, what-if replays and the catalog.

Views read through the apps' services and draw through `figures`; every page shows only the
workloads the user may see (`Workload.objects.visible_to`). How spend, savings and latency are
estimated is written in `apps.plans.spend`, `apps.simulations.services` and
`apps.simulations.latency`, and said on the pages.
"""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts import roles
from apps.catalog.models import Offer, PurchaseOption
from apps.dashboard import figures
from apps.dashboard.control_views import control_context
from apps.dashboard.observation_views import may_delete
from apps.forecasts.models import ForecastRun
from apps.plans import spend
from apps.plans.models import ScalingPlan
from apps.simulations import latency, services
from apps.simulations.models import SavingsReplay, WhatIfRun
from apps.workloads.models import Workload
from apps.workloads.world import requests_history
from policies import REFERENCES
from simulation.compare import POLICY_NAMES

SPEND_DAYS = 30
TRAFFIC_WINDOW = timedelta(days=30)


@login_required
def home(request):
    """The user's workloads, with counts, and the size of the catalog."""
    workloads = (
        Workload.objects.visible_to(request.user)
        .select_related("team")
        .annotate(variant_count=Count("variants", distinct=True))
    )
    return render(
        request,
        "dashboard/home.html",
        {
            "workloads": workloads,
            "offer_count": Offer.objects.in_force().count(),
            "is_finops": roles.is_finops(request.user),
        },
    )


@login_required
def overview(request):
    """Spend per day (estimated from plans), savings, SLA compliance and next week's spend."""
    workloads = Workload.objects.visible_to(request.user).select_related("team")
    now = timezone.now()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    days = [today - timedelta(days=i) for i in range(SPEND_DAYS - 1, -1, -1)]
    periods = spend.in_force_periods(spend.applied_plans(workloads), now)
    daily = spend.daily_spend(periods, days)
    labels = [d.date().isoformat() for d in days]
    replays = _latest_replays(workloads)
    newest = spend.newest_plans(workloads)
    rows = [_overview_row(w, replays.get(w.pk), newest.get(w.pk)) for w in workloads]
    titles = {"team": "by team", "workload": "by workload", "purchase_option": "by purchase option"}
    return render(
        request,
        "dashboard/overview.html",
        {
            "rows": rows,
            "spend_figures": [
                (f"spend-{kind}", figures.spend_figure(labels, daily[kind], title=f"Spend {title}"))
                for kind, title in titles.items()
            ],
            "savings_figure": figures.savings_figure([r for r in rows if r["replay"]]),
            "sla_figure": figures.sla_figure(rows),
            "total_30d_usd": sum(sum(v) for v in daily["team"].values()),
            "next_week_usd": sum(r["next_week_usd"] or 0.0 for r in rows),
            "spend_days": SPEND_DAYS,
            "pending_replays": SavingsReplay.objects.filter(
                workload__in=workloads, status__in=["queued", "running"]
            ).count(),
        },
    )


def _latest_replays(workloads) -> dict[int, SavingsReplay]:
    latest: dict[int, SavingsReplay] = {}
    for replay in SavingsReplay.objects.filter(workload__in=workloads, status="succeeded"):
        latest.setdefault(replay.workload_id, replay)  # newest first
    return latest


def _overview_row(workload, replay, newest) -> dict:
    row = {
        "workload": f"{workload.team.slug}/{workload.name}",
        "pk": workload.pk,
        "replay": replay,
        "simulated": None,
        "threshold_within": None,
        "next_week_usd": None,
        "newest_plan": newest,
    }
    if newest is not None and newest.expected_cost_per_day_usd is not None:
        row["next_week_usd"] = 7 * newest.expected_cost_per_day_usd
    if replay is not None:
        policies = replay.result["policies"]
        threshold, ballast = policies["threshold"]["cost_usd"], policies["ballast"]["cost_usd"]
        row.update(
            threshold_cost_usd=threshold,
            ballast_cost_usd=ballast,
            savings_pct=100 * (1 - ballast / threshold) if threshold else None,
            simulated=1 - policies["ballast"]["sla_violation_rate"],
            threshold_within=1 - policies["threshold"]["sla_violation_rate"],
        )
        row.update(
            simulated_pct=100 * row["simulated"], threshold_within_pct=100 * row["threshold_within"]
        )
    return row


@login_required
@require_POST
def refresh_savings(request):
    """Queue a savings replay of every visible online workload."""
    workloads = Workload.objects.visible_to(request.user)
    queued = services.queue_savings_replays(workloads=workloads, by=request.user)
    messages.info(request, f"{len(queued)} savings replays queued; they finish in the background.")
    return redirect("dashboard:overview")


@login_required
def workload_detail(request, workload_id: int):
    """Traffic, forecast, capacity and modelled latency of one workload, and its recent plans."""
    workload = get_object_or_404(
        Workload.objects.visible_to(request.user).select_related("team"), pk=workload_id
    )
    newest_ts = (
        workload.observations.filter(series="requests").order_by("-ts").values_list("ts", flat=True)
    ).first()
    history = None
    if newest_ts is not None:
        history = requests_history(workload.pk, since=newest_ts - TRAFFIC_WINDOW)
    forecast = (
        ForecastRun.objects.filter(workload=workload, series="requests", status="succeeded")
        .order_by("-created_at")
        .first()
    )
    sla = getattr(workload, "sla", None)
    context = {
        "workload": workload,
        "sla": sla,
        "forecast": forecast,
        "plans": ScalingPlan.objects.filter(workload=workload)[:10],
        "history": history,
        "can_delete_observations": may_delete(request, workload),
    }
    if history is not None:
        context.update(_traffic_figures(workload, history, forecast, sla))
    context.update(control_context(workload))
    return render(request, "dashboard/workload.html", context)


def _traffic_figures(workload, history, forecast, sla) -> dict:
    model = latency.workload_traffic(workload, history, forecast, sla)
    result = {
        "traffic_figure": figures.traffic_figure(
            model.history_s, model.history_rps, forecast=model.forecast, capacity=model.capacity
        )
    }
    if model.latency:
        result["latency_figure"] = figures.latency_figure(
            model.latency, target_ms=model.target_ms, percentile=model.percentile
        )
    return result


class WhatIfForm(forms.Form):
    """A workload's history or an uploaded trace, and the policies to replay on it."""

    workload = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    trace = forms.FileField(
        required=False, help_text="CSV with header timestamp,value; at most 2 MB"
    )
    policies = forms.MultipleChoiceField(
        choices=[(name, name) for name in POLICY_NAMES]
        + [(name, f"{name} (reference)") for name in REFERENCES],
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, workloads, **kwargs):
        super().__init__(*args, **kwargs)
        self.workloads = workloads
        self.fields["workload"].choices = [("", "— upload a trace instead —")] + [
            (w.pk, f"{w.team.slug}/{w.name}") for w in workloads
        ]


@login_required
def what_if(request):
    """The form (GET) and its submission (POST): a what-if run is queued, then its page opens."""
    workloads = (
        Workload.objects.visible_to(request.user).filter(kind="online").select_related("team")
    )
    form = WhatIfForm(
        request.POST or None,
        request.FILES or None,
        workloads=workloads,
        initial={"policies": ["threshold", "ballast"]},
    )
    if request.method == "POST" and form.is_valid():
        workload = (
            workloads.filter(pk=form.cleaned_data["workload"]).first()
            if form.cleaned_data["workload"]
            else None
        )
        try:
            run = services.start_what_if(
                by=request.user,
                workload=workload,
                upload=form.cleaned_data["trace"],
                policies=form.cleaned_data["policies"],
            )
        except services.SimulationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect("dashboard:what-if-run", run_id=run.pk)
    runs = WhatIfRun.objects.visible_to(request.user).select_related("workload__team")[:10]
    status = 400 if request.method == "POST" else 200
    return render(request, "dashboard/what_if.html", {"form": form, "runs": runs}, status=status)


@login_required
def what_if_run(request, run_id: int):
    """One run: a progress bar while it runs, then the policies compared."""
    run = get_object_or_404(
        WhatIfRun.objects.visible_to(request.user).select_related("workload__team"), pk=run_id
    )
    context = {"run": run}
    if run.status == "succeeded" and run.result:
        policies = run.result["policies"]
        oracle = policies.get("oracle", {}).get("compute_cost_usd")
        context.update(
            rows=[
                (name, m, m["compute_cost_usd"] / oracle if oracle else None)
                for name, m in policies.items()
            ],
            with_oracle=bool(oracle),
            cost_figure=figures.policy_cost_figure(policies),
            sla_figure=figures.policy_sla_figure(policies),
        )
    return render(request, "dashboard/what_if_run.html", context)


@login_required
def what_if_progress(request, run_id: int):
    """The run's status and progress (0-100), for the page to poll."""
    run = get_object_or_404(WhatIfRun.objects.visible_to(request.user), pk=run_id)
    return JsonResponse({"status": run.status, "progress": run.progress, "message": run.message})


@login_required
def catalog(request):
    """Hourly prices over time per instance type and purchase option; spot interruption bands."""
    offers = Offer.objects.select_related("instance_type", "region").order_by("valid_from", "pk")
    option = request.GET.get("purchase_option", "")
    if option in PurchaseOption.values:
        offers = offers.filter(purchase_option=option)
    series: dict[str, dict] = {}
    bands: dict[str, str] = {}
    now_s = timezone.now().timestamp()
    for offer in offers:
        label = f"{offer.instance_type.name} {offer.purchase_option} ({offer.region.code})"
        line = series.setdefault(
            label, {"label": label, "valid_from_s": [], "price_per_hour_usd": [], "until_s": now_s}
        )
        line["valid_from_s"].append(offer.valid_from.timestamp())
        line["price_per_hour_usd"].append(float(offer.price_per_hour_usd))
        if offer.purchase_option == PurchaseOption.SPOT and offer.interruption_band:
            bands[offer.instance_type.name] = offer.interruption_band  # the newest wins
    in_force = (
        Offer.objects.in_force()
        .select_related("instance_type", "region")
        .order_by("instance_type__name", "purchase_option")
    )
    if option in PurchaseOption.values:
        in_force = in_force.filter(purchase_option=option)
    return render(
        request,
        "dashboard/catalog.html",
        {
            "price_figure": figures.price_history_figure(list(series.values())),
            "band_figure": figures.interruption_figure(bands),
            "offers": in_force,
            "options": PurchaseOption.choices,
            "option": option,
        },
    )
