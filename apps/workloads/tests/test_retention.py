"""Observation retention: hourly rollups, bounded deletions, and readers that see through them."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from apps.forecasts.models import ForecastRun
from apps.forecasts.services import load_history
from apps.workloads import retention
from apps.workloads.history import series_points
from apps.workloads.models import MetricObservation, MetricRollup
from apps.workloads.tests.factories import WorkloadFactory
from apps.workloads.world import requests_history

NOW = datetime(2026, 11, 30, 12, 30, tzinfo=UTC)


@pytest.fixture
def workload(team_a):
    return WorkloadFactory(team=team_a, name="ranker")


@pytest.fixture(autouse=True)
def windows(settings):
    settings.OBSERVATIONS_RAW_DAYS = 14
    settings.OBSERVATIONS_ROLLUP_DAYS = 400


def store(workload, start: datetime, values, *, step_s: int = 60, series: str = "requests"):
    MetricObservation.objects.bulk_create(
        MetricObservation(
            workload=workload,
            series=series,
            ts=start + timedelta(seconds=i * step_s),
            value=float(v),
        )
        for i, v in enumerate(values)
    )


def rollups(workload) -> list[tuple]:
    rows = MetricRollup.objects.filter(workload=workload).order_by("series", "hour")
    return list(rows.values_list("series", "hour", "count", "mean", "min", "max"))


def test_points_past_the_raw_window_become_hourly_means_counts_minima_and_maxima(workload):
    cutoff = retention.raw_cutoff(NOW)
    assert cutoff == datetime(2026, 11, 16, 12, tzinfo=UTC)  # 14 days, a whole hour
    start = cutoff - timedelta(hours=2)
    store(workload, start, range(180))  # 2 hours before the cutoff, 1 after
    store(workload, start, [5.0, 7.0], step_s=1800, series="latency_p99_ms")

    report = retention.apply_retention(now=NOW)

    assert report == retention.RetentionReport(rolled_up=122, rollup_rows=3, rollups_deleted=0)
    assert rollups(workload) == [
        ("latency_p99_ms", start, 2, 6.0, 5.0, 7.0),
        ("requests", start, 60, 29.5, 0.0, 59.0),  # mean of 0..59
        ("requests", start + timedelta(hours=1), 60, 89.5, 60.0, 119.0),
    ]
    left = MetricObservation.objects.filter(workload=workload).order_by("ts")
    assert left.count() == 60 and left.first().ts == cutoff  # the raw window is untouched


def test_a_rerun_changes_nothing_and_a_backfill_merges_weighted_by_counts(workload):
    hour = retention.raw_cutoff(NOW) - timedelta(hours=1)
    store(workload, hour, [10.0] * 30)  # the hour's first half
    retention.apply_retention(now=NOW)
    before = rollups(workload)
    assert retention.apply_retention(now=NOW).rolled_up == 0
    assert rollups(workload) == before  # idempotent: nothing is counted twice

    store(workload, hour + timedelta(minutes=30), [40.0] * 10)  # a backfill of 10 points
    retention.apply_retention(now=NOW)

    assert rollups(workload) == [("requests", hour, 40, (30 * 10.0 + 10 * 40.0) / 40, 10.0, 40.0)]
    assert not MetricObservation.objects.filter(workload=workload).exists()


def test_each_transaction_takes_a_bounded_batch_and_a_run_a_bounded_number(workload):
    start = retention.raw_cutoff(NOW) - timedelta(hours=3)
    store(workload, start, np.arange(180.0))

    report = retention.apply_retention(now=NOW, batch=50, max_batches=2)

    assert report.rolled_up == 100  # two batches of 50; the next run goes on
    assert MetricObservation.objects.filter(workload=workload).count() == 80
    assert retention.apply_retention(now=NOW, batch=50, budget_s=0).rolled_up == 50  # past it
    retention.apply_retention(now=NOW, batch=50, max_batches=10)
    assert not MetricObservation.objects.filter(workload=workload).exists()
    # Hours split over batches sum as if rolled up at once.
    assert [(c, m) for _, _, c, m, _, _ in rollups(workload)] == [
        (60, 29.5),
        (60, 89.5),
        (60, 149.5),
    ]


def test_rollups_past_their_window_are_deleted_in_batches(workload, settings):
    settings.OBSERVATIONS_ROLLUP_DAYS = 30
    old = NOW - timedelta(days=31)
    MetricRollup.objects.bulk_create(
        MetricRollup(
            workload=workload,
            series="requests",
            hour=old - timedelta(hours=i),
            count=60,
            mean=1.0,
            min=1.0,
            max=1.0,
        )
        for i in range(7)
    )
    kept = MetricRollup.objects.create(
        workload=workload, series="requests", hour=NOW - timedelta(days=29), count=1, mean=1.0,
        min=1.0, max=1.0,
    )  # fmt: skip

    assert retention.apply_retention(now=NOW, batch=3, max_batches=2).rollups_deleted == 6
    assert retention.apply_retention(now=NOW, batch=3, max_batches=2).rollups_deleted == 1
    assert list(MetricRollup.objects.values_list("pk", flat=True)) == [kept.pk]


def test_readers_see_one_continuous_history_across_the_raw_window(workload):
    cutoff = retention.raw_cutoff(NOW)
    start = cutoff - timedelta(days=2)
    minutes = 4 * 24 * 60  # two days past the window, two inside it
    t = np.arange(minutes)
    values = 1000 + 400 * np.sin(2 * np.pi * t / 1440)
    store(workload, start, values)
    before = requests_history(workload.pk)

    retention.apply_retention(now=NOW)
    assert MetricObservation.objects.filter(workload=workload, ts__lt=cutoff).count() == 0

    after = requests_history(workload.pk)
    assert (after.start_s, after.interval_s, len(after.values)) == (
        before.start_s,
        before.interval_s,
        minutes,
    )
    raw = minutes // 2
    assert np.array_equal(after.values[raw:], before.values[raw:])  # the raw days as they were
    hourly = before.values[:raw].reshape(-1, 60).mean(axis=1)
    assert np.allclose(after.values[:raw].reshape(-1, 60), hourly[:, None])  # each hour its mean

    # A forecast reads the same history (the newest points), and since a cut, a chart.
    run = ForecastRun(workload=workload, series="requests")  # only read
    assert np.allclose(load_history(run).values, after.values)
    newest = series_points(workload.pk, "requests", newest=raw + 90)
    assert len(newest) == raw + 90 and newest[0][0] == cutoff - timedelta(minutes=90)
    since = series_points(workload.pk, "requests", since=cutoff - timedelta(minutes=30))
    assert len(since) == raw + 30 and since[0][0] == cutoff - timedelta(minutes=30)


def test_deleting_a_range_deletes_the_rolled_up_hours_wholly_inside_it(workload, django_user_model):
    from apps.accounts.models import Role, TeamMembership
    from apps.control.observations import delete_observations

    sre = django_user_model.objects.create_user(username="sre", password="x-sre")
    TeamMembership.objects.create(team=workload.team, user=sre, role=Role.SRE)
    start = retention.raw_cutoff(NOW) - timedelta(hours=3)
    store(workload, start, range(180))
    retention.apply_retention(now=NOW)

    # From half past the first hour to the end of the third: the second and third hours only.
    result = delete_observations(
        workload=workload,
        series="requests",
        start=start + timedelta(minutes=30),
        end=start + timedelta(hours=3),
        user=sre,
    )

    assert result.deleted == 120
    assert [hour for _, hour, *_ in rollups(workload)] == [start]
    assert len(series_points(workload.pk, "requests")) == 60
