"""The overview's numbers without a page: plans' periods, per-day spreads, figures."""

from datetime import UTC, date, datetime, timedelta

import pytest

from apps.billing.billed import BilledDay
from apps.dashboard import figures
from apps.dashboard.overview_report import UNALLOCATED, combine_days, csv_cell, forecast_share
from apps.plans import spend
from apps.plans.models import ScalingPlan
from apps.workloads.models import Workload

NOW = datetime(2026, 11, 10, 12, tzinfo=UTC)
DAYS = [date(2026, 11, 8) + timedelta(days=i) for i in range(5)]  # 8th .. 12th


def test_a_period_is_spread_over_the_share_of_each_day_it_covers():
    period = spend.CostPeriod(1, 1, NOW - timedelta(days=1, hours=6), NOW, 24.0)
    assert spend.spread_over_days([period]) == {
        (1, date(2026, 11, 9)): pytest.approx(18.0),  # from 06:00
        (1, date(2026, 11, 10)): pytest.approx(12.0),  # to noon
    }


def test_the_forecast_covers_what_is_left_of_today_and_the_days_after():
    assert [forecast_share(d, NOW) for d in DAYS] == [0.0, 0.0, 0.5, 1.0, 1.0]


def test_rows_keep_billed_planned_and_forecast_apart_and_unallocated_on_its_own():
    rows = combine_days(
        DAYS,
        NOW,
        billed=[
            BilledDay(date(2026, 11, 9), 10, 1, 3.0),
            BilledDay(date(2026, 11, 9), None, None, 2.0),
        ],
        planned={(1, date(2026, 11, 9)): 24.0, (1, date(2026, 11, 10)): 12.0},
        forecast_per_day={1: 24.0},
        labels={1: ("team-a", "ranker")},
        team_slugs={10: "team-a"},
    )
    as_tuples = [(r.day.day, r.workload, r.billed_usd, r.planned_usd, r.forecast_usd) for r in rows]
    assert as_tuples == [
        (9, UNALLOCATED, 2.0, 0.0, 0.0),
        (9, "ranker", 3.0, 24.0, 0.0),
        (10, "ranker", 0.0, 12.0, 12.0),
        (11, "ranker", 0.0, 0.0, 24.0),
        (12, "ranker", 0.0, 0.0, 24.0),
    ]


def test_applied_plans_cost_until_the_next_one_and_proposals_cost_nothing(team_a, make_user):
    user = make_user("ci-a", role="ci", team=team_a)
    workload = Workload.objects.create(team=team_a, name="ranker", kind="online")

    def plan(status, cost, applied_at=None):
        return ScalingPlan.objects.create(
            workload=workload,
            requested_by=user,
            expires_at=NOW + timedelta(days=1),
            status=status,
            applied_at=applied_at,
            front=[{"cost_per_day_usd": 1.0}, {"cost_per_day_usd": cost}],
            chosen_index=1,
        )

    first = plan("applied", 24.0, NOW - timedelta(days=2))
    second = plan("applied", 48.0, NOW - timedelta(days=1))
    pending = plan("proposed", 1000.0)
    plan("proposed", 5000.0).delete()  # gone: not pending either
    start = NOW - timedelta(days=3)
    periods = spend.cost_periods([workload.pk], start, NOW + timedelta(days=3), NOW)
    assert sorted((p.plan_id, p.start, p.end, p.cost_per_day_usd) for p in periods) == [
        (first.pk, NOW - timedelta(days=2), NOW - timedelta(days=1), 24.0),
        (second.pk, NOW - timedelta(days=1), NOW, 48.0),
    ]
    planned = spend.planned_days([workload.pk], start.date(), NOW.date(), NOW)
    assert sum(planned.values()) == pytest.approx(72.0)
    in_force = spend.in_force_now([workload.pk], NOW)[workload.pk]
    assert (in_force.plan_id, in_force.cost_per_day_usd) == (second.pk, 48.0)
    assert "onboarding" in in_force.basis
    assert spend.pending_plans([workload.pk], NOW)[workload.pk].plan_id == pending.pk
    assert spend.pending_plans([workload.pk], NOW + timedelta(days=2)) == {}  # expired


def test_csv_cells_starting_like_a_formula_get_a_quote():
    assert [csv_cell(t) for t in ("=1+1", "+1", "-1", "@SUM", "ranker")] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@SUM",
        "ranker",
    ]


def test_charts_keep_their_legend_and_say_when_they_are_empty():
    days = ["2026-11-09"]
    one = figures.spend_figure(days, {"team-a": [3.0]}, title="Billed spend by team")
    assert one["layout"]["showlegend"] is True and len(one["data"]) == 1
    empty = figures.spend_figure(days, {"team-a": [0.0]}, title="t", empty="No billed spend")
    assert empty["data"] == [] and empty["layout"]["annotations"][0]["text"] == "No billed spend"
    kinds = figures.spend_kinds_figure(days, billed=[1.0], planned=[2.0], forecast=[0.0])
    assert [t["name"].split()[0] for t in kinds["data"]] == ["billed", "planned", "forecast"]


def test_sla_shares_are_percent_and_the_axis_fits_them():
    rows = [{"workload": "team-a/ranker", "threshold_within": 0.95, "simulated": 0.9998}]
    figure = figures.sla_figure(rows)
    assert [t["y"] for t in figure["data"]] == [[95.0], [99.98]]
    assert figure["layout"]["yaxis"]["range"] == [94.0, 100.5]
    assert figure["layout"]["yaxis"]["ticksuffix"] == " %"
