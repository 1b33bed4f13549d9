"""Pages: home, a workload's traffic and the catalog.

Views read through the apps' services and draw through `figures`; every page shows only the
workloads the user may see (`Workload.objects.visible_to`). The overview lives in
`overview_views`, what-if in `what_if_views`, plans in `plan_views`.
"""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from apps.accounts import roles
from apps.catalog.models import Offer, PurchaseOption
from apps.dashboard import figures
from apps.dashboard.control_views import control_context
from apps.dashboard.forecast_runs import forecast_runs_context
from apps.dashboard.observation_views import may_delete
from apps.dashboard.overview_report import read_overview
from apps.forecasts.models import ForecastRun
from apps.plans.models import ScalingPlan
from apps.simulations import latency
from apps.workloads.models import Workload
from apps.workloads.world import requests_history

TRAFFIC_WINDOW = timedelta(days=30)
SPEND_DAYS = 30  # the workload page's spend summary, as the overview's default range


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
def workload_detail(request, workload_id: int):
    """Traffic, forecast, capacity and modelled latency of one workload, and its recent plans."""
    workload = get_object_or_404(
        Workload.objects.visible_to(request.user).select_related("team"), pk=workload_id
    )
    if request.htmx and request.GET.get("part") == "forecast-runs":  # the part that polls
        context = {"workload": workload, "polled": True, **forecast_runs_context(workload)}
        return render(request, "dashboard/_forecast_runs.html", context)
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
    context.update(forecast_runs_context(workload))
    context["spend"] = _spend_summary(request.user, workload)
    return render(request, "dashboard/workload.html", context)


def _spend_summary(user, workload) -> dict:
    """The last SPEND_DAYS of the workload's spend as the overview reads it: billed and planned."""
    today = timezone.now().date()
    first = today - timedelta(days=SPEND_DAYS - 1)
    report = read_overview(user, first=first, last=today, workload=workload, now=timezone.now())
    totals = next((w for w in report.workloads if w.workload_id == workload.pk), None)
    return {
        "days": SPEND_DAYS,
        "first": first,
        "last": today,
        "billed_usd": report.totals["billed"],
        "planned_usd": report.totals["planned"],
        "sources": [s for s in report.sources if s.amount_usd],
        "in_force": totals.in_force if totals else None,
    }


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
