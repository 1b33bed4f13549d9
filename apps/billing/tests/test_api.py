"""The billed-costs API: read-only, scoped like the rows, filtered by day, team and option."""

from datetime import date
from decimal import Decimal

import pytest

from apps.billing.models import BilledCost, BillingSource
from apps.workloads.models import Workload


@pytest.fixture
def lines(team_a, team_b):
    source = BillingSource.objects.create(name="ce", kind=BillingSource.Kind.COST_EXPLORER)
    ranker = Workload.objects.create(team=team_a, name="ranker", kind="online")
    scorer = Workload.objects.create(team=team_b, name="scorer", kind="online")

    def line(day, tag, team, workload, option, amount):
        return BilledCost.objects.create(
            source=source,
            day=day,
            tag_value=tag,
            team=team,
            workload=workload,
            usage_type="USE1-BoxUsage:m5.large",
            purchase_option=option,
            amount_usd=Decimal(amount),
        )

    return {
        "a1": line(date(2026, 11, 1), "team-a/ranker", team_a, ranker, "spot", "1.5"),
        "a2": line(date(2026, 11, 2), "team-a/ranker", team_a, ranker, "on_demand", "2.25"),
        "a-unallocated": line(date(2026, 11, 2), "team-a/gone", team_a, None, "on_demand", "9"),
        "b": line(date(2026, 11, 2), "team-b/scorer", team_b, scorer, "spot", "4"),
        "untagged": line(date(2026, 11, 2), "", None, None, "other", "7"),
    }


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_a_member_reads_the_lines_of_their_teams_workloads_only(sre_a, lines):
    assert ids(sre_a.get("/api/v1/billed-costs/")) == {lines["a1"].pk, lines["a2"].pk}


def test_finops_reads_every_line_and_filters_them(finops, lines):
    assert ids(finops.get("/api/v1/billed-costs/")) == {line.pk for line in lines.values()}
    day_two = finops.get("/api/v1/billed-costs/", {"since": "2026-11-02", "until": "2026-11-03"})
    assert ids(day_two) == {lines[k].pk for k in ("a2", "a-unallocated", "b", "untagged")}
    spot_of_b = finops.get("/api/v1/billed-costs/", {"team": "team-b", "purchase_option": "spot"})
    assert ids(spot_of_b) == {lines["b"].pk}


def test_a_line_reads_as_billed(sre_a, lines):
    row = sre_a.get(f"/api/v1/billed-costs/{lines['a2'].pk}/").json()
    assert row == {
        "id": lines["a2"].pk,
        "source": "ce",
        "day": "2026-11-02",
        "team": "team-a",
        "workload": lines["a2"].workload_id,
        "tag_value": "team-a/ranker",
        "usage_type": "USE1-BoxUsage:m5.large",
        "purchase_option": "on_demand",
        "amount_usd": "2.250000",
    }
    assert sre_a.get(f"/api/v1/billed-costs/{lines['b'].pk}/").status_code == 404


def test_lines_cannot_be_written_through_the_api(finops, lines):
    assert finops.post("/api/v1/billed-costs/", {}, format="json").status_code == 405
    assert finops.delete(f"/api/v1/billed-costs/{lines['a1'].pk}/").status_code == 405


def test_a_bad_day_is_refused(finops, lines):
    assert finops.get("/api/v1/billed-costs/", {"since": "yesterday"}).status_code == 400


def test_an_anonymous_reader_gets_nothing(client, lines):
    assert client.get("/api/v1/billed-costs/").status_code in (401, 403)
