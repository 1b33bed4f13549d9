"""In a real browser: FinOps filters the overview, drills down to a workload and exports it."""

import re
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.test_dashboard import chart


def test_finops_filters_drills_down_and_exports_what_is_on_screen(
    team_a, make_user, signed_in, live_server, artifacts
):
    from apps.billing.models import BilledCost, BillingSource
    from apps.plans.models import ScalingPlan
    from apps.workloads.models import Workload

    make_user("finops", role="finops")
    ranker = Workload.objects.create(team=team_a, name="ranker", kind="online")
    Workload.objects.create(team=team_a, name="embedder", kind="online")
    source = BillingSource.objects.create(name="aws-ce", kind="cost_explorer")
    BilledCost.objects.create(
        source=source,
        day=timezone.now().date() - timedelta(days=1),
        team=team_a,
        workload=ranker,
        tag_value="team-a/ranker",
        usage_type="BoxUsage:c6i.xlarge",
        purchase_option="on_demand",
        amount_usd=Decimal("12.34"),
    )
    ScalingPlan.objects.create(
        workload=ranker,
        requested_by=make_user("ci-a", role="ci", team=team_a),
        expires_at=timezone.now() + timedelta(days=1),
        status="applied",
        applied_at=timezone.now() - timedelta(days=2),
        front=[{"cost_per_day_usd": 24.0}],
        chosen_index=0,
    )

    page = signed_in("finops")
    page.goto(f"{live_server.url}/overview/")
    chart(page, "spend-daily")
    expect(page.locator("#billed-usd")).to_have_text("$12.34")
    page.select_option("select[name=workload]", label="team-a/embedder")
    page.click("#overview-filters button[type=submit]")
    expect(page.locator("#billed-usd")).to_have_text("$0.00")
    expect(page.locator("#spend-daily")).to_contain_text("No spend in this range")

    page.goto(f"{live_server.url}/overview/")
    page.click("a.drill:has-text('team-a/ranker')")
    expect(page).to_have_url(re.compile(rf"/overview/\?from=.*&workload={ranker.pk}$"))
    expect(page.locator("select[name=workload] option:checked")).to_have_text("team-a/ranker")
    with page.expect_download() as download:
        page.click("#export-csv")
    assert download.value.suggested_filename.startswith("ballast-spend-")
    lines = open(download.value.path()).read().splitlines()
    assert lines[0] == "day,team,workload,billed_usd,planned_usd,forecast_usd"
    assert all(",team-a,ranker," in line for line in lines[1:]) and len(lines) > 8

    page.set_viewport_size({"width": 1440, "height": 900})
    page.screenshot(path=artifacts / "finops-overview-workload.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=artifacts / "finops-overview-phone.png", full_page=True)
