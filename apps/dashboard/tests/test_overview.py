"""The FinOps overview page: billed, planned and forecast spend apart, filters, scope, CSV."""

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.billing.models import BilledCost, BillingSource
from apps.plans.models import ScalingPlan
from apps.workloads.models import Workload


@pytest.fixture
def spend(team_a, team_b, make_user):
    """Two teams' workloads, their bill (and an untagged line), an applied and a pending plan."""
    make_user("sre-a", role="sre", team=team_a)
    make_user("finops", role="finops")
    ranker = Workload.objects.create(team=team_a, name="ranker", kind="online")
    other = Workload.objects.create(team=team_b, name="other-model", kind="online")
    today = timezone.now().date()
    source = BillingSource.objects.create(
        name="aws-cur", kind="cur", last_pulled_at=timezone.now() - timedelta(hours=3)
    )

    def line(workload, usd, *, tag="", usage="BoxUsage:c6i.xlarge", team=None):
        BilledCost.objects.create(
            source=source,
            day=today - timedelta(days=2),
            team=team or (workload.team if workload else None),
            workload=workload,
            tag_value=tag or (f"{workload.team.slug}/{workload.name}" if workload else ""),
            usage_type=usage,
            purchase_option="spot",
            amount_usd=Decimal(usd),
        )

    line(ranker, "10.50")
    line(other, "7.25")
    line(None, "5.00", usage="NatGateway-Hours")
    requester = make_user("ci-a", role="ci", team=team_a)
    now = timezone.now()
    plan = dict(workload=ranker, requested_by=requester, expires_at=now + timedelta(days=1))
    applied = ScalingPlan.objects.create(
        **plan,
        status="applied",
        applied_at=now - timedelta(days=3),
        front=[{"cost_per_day_usd": 24.0}],
        chosen_index=0,
    )
    pending = ScalingPlan.objects.create(
        **plan, status="proposed", front=[{"cost_per_day_usd": 1000.0}], chosen_index=0
    )
    return {"ranker": ranker, "other": other, "applied": applied, "pending": pending}


def csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_billed_planned_and_forecast_are_three_labelled_figures(spend, page_as):
    response = page_as("finops").get("/overview/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="billed-usd">$22.75<' in page  # both teams and the untagged line
    assert "aws-cur (AWS Cost and Usage Report 2.0 (S3))" in page and "last pulled" in page
    assert "Unallocated (untagged" in page and "<strong>$5.00</strong>" in page
    assert "<strong>estimated from plans</strong>" in page
    assert 'id="planned-usd">$72.00<' in page  # 3 days at $24/day, applied 3 days ago
    assert "sized to an onboarding plan" in page  # how the forecast is made, said
    # The proposal nobody approved is not spend: only its own, labelled line shows it.
    assert "$1,000" not in page.split('id="if-pending"')[0]
    assert "If the pending plans are applied" in page


def test_a_team_member_sees_neither_another_teams_bill_nor_untagged_lines(spend, page_as):
    BillingSource.objects.update(last_error="AccessDenied on s3://finops-only-bucket")
    client = page_as("sre-a")
    page = client.get("/overview/").content.decode()
    assert 'id="billed-usd">$10.50<' in page
    assert "last pull failed (FinOps sees why)" in page and "finops-only-bucket" not in page
    assert "other-model" not in page and "Unallocated" not in page
    rows = csv_rows(client.get("/overview/?format=csv"))
    assert {r["workload"] for r in rows} == {"ranker"}
    billed = sum(float(r["billed_usd"]) for r in rows)
    assert billed == pytest.approx(10.50)
    refused = client.get(f"/overview/?workload={spend['other'].pk}")
    assert refused.status_code == 400 and 'id="error-workload"' in refused.content.decode()


def test_the_csv_is_what_the_page_shows_per_day_and_workload(spend, page_as):
    response = page_as("finops").get("/overview/?format=csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="ballast-spend-')
    rows = csv_rows(response)
    assert list(rows[0]) == [
        "day",
        "team",
        "workload",
        "billed_usd",
        "planned_usd",
        "forecast_usd",
    ]
    totals = {
        k: sum(float(r[k]) for r in rows) for k in ("billed_usd", "planned_usd", "forecast_usd")
    }
    assert totals["billed_usd"] == pytest.approx(22.75)
    assert totals["planned_usd"] == pytest.approx(72.0, abs=0.05)
    assert 24 * 7 < totals["forecast_usd"] <= 24 * 8  # the rest of today and 7 days
    assert {r["workload"] for r in rows} == {"ranker", "other-model", "(unallocated)"}


def test_filters_narrow_to_a_team_and_drill_down_to_a_workload(spend, page_as):
    client = page_as("finops")
    team_page = client.get(f"/overview/?team={spend['other'].team_id}").content.decode()
    assert 'id="billed-usd">$7.25<' in team_page and ">team-a/ranker</a>" not in team_page
    assert "no plan is in force on these workloads" in team_page
    assert "forecast (plans in force, carried forward): none in this range" in team_page
    page = client.get("/overview/").content.decode()
    ranker = spend["ranker"].pk
    assert f"&amp;workload={ranker}" in page  # the drill-down keeps the dates
    assert f'href="/workloads/{ranker}/"' in page
    drilled = client.get(f"/overview/?workload={ranker}").content.decode()
    assert 'id="billed-usd">$10.50<' in drilled and "Unallocated" not in drilled
    export = re.search(r'id="export-csv" href="([^"]+)"', drilled)
    assert export and f"workload={ranker}" in export[1] and "format=csv" in export[1]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=yesterday", "from"),
        ("from=2026-03-01&to=2026-02-01", "to"),
        ("from=2020-01-01&to=2026-01-01", "from"),
        ("to=2999-01-01", "to"),
        ("team=999999", "team"),
        ("format=xlsx", "format"),
    ],
)
def test_bad_filters_are_refused_in_the_page_naming_the_field(spend, page_as, query, field):
    response = page_as("finops").get(f"/overview/?{query}")
    assert response.status_code == 400
    assert f'id="error-{field}"' in response.content.decode()


def test_a_workload_outside_the_chosen_team_is_refused(spend, page_as):
    team, workload = spend["other"].team_id, spend["ranker"].pk
    response = page_as("finops").get(f"/overview/?team={team}&workload={workload}")
    assert response.status_code == 400
    assert "team-a/ranker is not in team team-b" in response.content.decode()


def test_csv_cells_that_look_like_formulas_are_defused(spend, page_as):
    Workload.objects.filter(pk=spend["ranker"].pk).update(name="=HYPERLINK(1)")  # not a slug
    rows = csv_rows(page_as("finops").get("/overview/?format=csv"))
    names = {r["workload"] for r in rows}
    assert "'=HYPERLINK(1)" in names and "=HYPERLINK(1)" not in names


def test_an_empty_range_says_so_in_every_chart(spend, page_as):
    page = page_as("finops").get("/overview/?from=2025-01-01&to=2025-01-31").content.decode()
    assert "No spend in this range" in page and "No billed spend in this range" in page
    assert 'id="forecast-usd">$0.00<' in page and "Nothing ahead" in page


def test_the_workload_page_shows_its_bill_beside_the_planned_estimate(spend, page_as):
    ranker = spend["ranker"]
    page = page_as("sre-a").get(f"/workloads/{ranker.pk}/").content.decode()
    summary = page.split('id="workload-spend"')[1].split("</p>")[0]
    assert "<strong>billed $10.50</strong> (from the bill: aws-cur)" in summary
    assert "planned $72.00 (an estimate from the plans applied" in summary
    assert f'In force now: plan <a href="/plans/{spend["applied"].pk}/">' in summary
    assert f"workload={ranker.pk}" in summary  # drills down to the overview's days
    assert "7.25" not in summary  # another team's line is not this workload's
    # Shares read as percents, the plans' costs as planned estimates.
    assert "Planned cost per day (estimate)" in page and "SLA risk (model)" in page


def test_a_workload_with_no_tagged_lines_says_so(spend, page_as):
    BilledCost.objects.filter(workload=spend["ranker"]).delete()
    page = page_as("sre-a").get(f"/workloads/{spend['ranker'].pk}/").content.decode()
    assert "billed $0.00</strong> (no billed lines carry this workload's tag)" in page


@pytest.mark.parametrize(
    ("fraction", "text"),
    [(None, ""), (0.0, "0.00 %"), (0.00004, "&lt; 0.01 %"), (0.0123, "1.23 %"), (1.0, "100.00 %")],
)
def test_shares_render_as_percents(fraction, text):
    from django.template import Context, Template

    rendered = Template("{% load units %}{{ x|share_pct }}").render(Context({"x": fraction}))
    assert rendered == text


def test_the_date_inputs_show_the_range_in_use_when_none_was_asked_for(spend, page_as):
    today = timezone.now().date()
    page = page_as("finops").get("/overview/").content.decode()
    first, last = today - timedelta(days=29), today + timedelta(days=7)
    assert re.search(rf'name="from" value="{first.isoformat()}"', page)
    assert re.search(rf'name="to" value="{last.isoformat()}"', page)
