"""The FinOps overview: billed, planned and forecast spend, replayed savings and SLA compliance.

What each figure is read from is written in `apps.dashboard.overview_report` and said on the
page; savings and compliance come from `apps.simulations.services`' replays.
"""

import csv
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.dashboard import figures
from apps.dashboard.overview_filters import OverviewFilterForm
from apps.dashboard.overview_report import Overview, csv_lines, read_overview
from apps.simulations import services
from apps.simulations.models import SavingsReplay
from apps.workloads.models import Workload


@login_required
def overview(request):
    """The page (or, with `format=csv`, its rows as CSV) for the filters in the query string."""
    now = timezone.now()
    form = OverviewFilterForm(request.GET, user=request.user, today=now.date())
    if not form.is_valid():
        return render(request, "dashboard/overview.html", {"form": form}, status=400)
    filters = form.cleaned_data
    form.show_range()
    report = read_overview(
        request.user,
        first=filters["from"],
        last=filters["to"],
        team=filters["team"],
        workload=filters["workload"],
        now=now,
    )
    if filters["format"] == "csv":
        return _csv_response(report)
    workloads = Workload.objects.filter(pk__in=[w.workload_id for w in report.workloads])
    replays = _replay_rows(workloads.select_related("team"))
    return render(
        request,
        "dashboard/overview.html",
        {
            "form": form,
            "report": report,
            "query": _query(filters),
            "csv_query": urlencode({**_query(filters), "format": "csv"}),
            "spend_figures": _spend_figures(report),
            "replays": replays,
            "savings_figure": figures.savings_figure([r for r in replays if r["replay"]]),
            "sla_figure": figures.sla_figure(replays),
            "pending_replays": SavingsReplay.objects.filter(
                workload__in=workloads, status__in=["queued", "running"]
            ).count(),
        },
    )


def _spend_figures(report: Overview) -> list[tuple[str, dict]]:
    days = [d.isoformat() for d in report.days]
    return [
        (
            "spend-daily",
            figures.spend_kinds_figure(
                days,
                billed=report.per_day("billed"),
                planned=report.per_day("planned"),
                forecast=report.per_day("forecast"),
            ),
        ),
        (
            "spend-team",
            figures.spend_figure(
                days,
                report.billed_by_team,
                title="Billed spend by team",
                empty="No billed spend in this range",
            ),
        ),
        (
            "spend-purchase-option",
            figures.spend_figure(
                days,
                report.billed_by_option,
                title="Billed spend by purchase option",
                empty="No billed spend in this range",
            ),
        ),
    ]


def _query(filters) -> dict[str, str]:
    """The filters as query-string values, for the links that keep them (the empty left out)."""
    query = {"from": filters["from"].isoformat(), "to": filters["to"].isoformat()}
    for name in ("team", "workload"):
        if filters[name] is not None:
            query[name] = str(filters[name].pk)
    return query


def _csv_response(report: Overview) -> HttpResponse:
    first, last = report.days[0].isoformat(), report.days[-1].isoformat()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ballast-spend-{first}-{last}.csv"'
    csv.writer(response).writerows(csv_lines(report.rows))
    return response


def _replay_rows(workloads) -> list[dict]:
    """Each workload's newest succeeded savings replay (None without one), as table rows."""
    newest = (
        SavingsReplay.objects.filter(workload__in=workloads, status="succeeded")
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("workload_id")],
                order_by=[F("created_at").desc(), F("pk").desc()],
            )
        )
        .filter(rank=1)
    )
    replays = {r.workload_id: r for r in newest}
    return [_replay_row(w, replays.get(w.pk)) for w in workloads]


def _replay_row(workload, replay) -> dict:
    row = {
        "workload": f"{workload.team.slug}/{workload.name}",
        "pk": workload.pk,
        "replay": replay,
        "simulated": None,
        "threshold_within": None,
    }
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
