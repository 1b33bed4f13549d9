"""The workload page's forecast runs, polled by htmx while one runs, and the time left."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.dashboard.progress import run_progress
from apps.forecasts.models import ForecastRun
from apps.workloads.models import Workload

PART = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def workload(team_a, sre_a):
    return Workload.objects.create(team=team_a, name="ranker", kind="online")


def forecast(workload, django_user_model, *, status, took_s=None, running_for_s=None):
    now = timezone.now()
    started = None
    if took_s is not None:
        started = now - timedelta(seconds=took_s + 60)
    if running_for_s is not None:
        started = now - timedelta(seconds=running_for_s)
    return ForecastRun.objects.create(
        workload=workload,
        horizon=24,
        model="ets",
        requested_by=django_user_model.objects.get(username="sre-a"),
        status=status,
        started_at=started,
        finished_at=started + timedelta(seconds=took_s) if took_s is not None else None,
    )


def test_a_running_forecast_polls_and_says_its_time_left_from_earlier_runs(
    workload, django_user_model, page_as
):
    for took_s in (20, 30, 40):
        forecast(workload, django_user_model, status="succeeded", took_s=took_s)
    run = forecast(workload, django_user_model, status="running", running_for_s=12)
    client = page_as("sre-a")
    page = client.get(f"/workloads/{workload.pk}/").content.decode()
    part = client.get(f"/workloads/{workload.pk}/?part=forecast-runs", **PART).content.decode()
    polling = f'hx-get="/workloads/{workload.pk}/?part=forecast-runs" hx-trigger="every 2s"'
    assert polling in page and polling in part
    assert "<html" not in part and part.lstrip().startswith("<section")
    elapsed, left = map(int, re.search(r"running for (\d+) s; about (\d+) s left", part).groups())
    assert f"<td>{run.pk}</td>" in part and elapsed >= 12 and 29 <= elapsed + left <= 31


def test_a_first_forecast_is_estimating_and_a_queued_one_waits(
    workload, django_user_model, page_as
):
    forecast(workload, django_user_model, status="running", running_for_s=5)
    forecast(workload, django_user_model, status="queued")
    part = page_as("sre-a").get(f"/workloads/{workload.pk}/?part=forecast-runs", **PART)
    text = part.content.decode()
    assert re.search(r"running for \d+ s; estimating\.\.\.", text)
    assert "waiting for a worker" in text


def test_polling_stops_once_every_run_has_finished(workload, django_user_model, page_as):
    forecast(workload, django_user_model, status="succeeded", took_s=10)
    client = page_as("sre-a")
    part = client.get(f"/workloads/{workload.pk}/?part=forecast-runs", **PART).content.decode()
    page = client.get(f"/workloads/{workload.pk}/").content.decode()
    assert 'id="forecast-runs"' in page and "hx-trigger" not in part
    assert 'id="forecast-runs-done"' in part and 'id="forecast-runs-done"' not in page


def test_another_teams_forecast_runs_are_not_found(workload, sre_b, page_as):
    response = page_as("sre-b").get(f"/workloads/{workload.pk}/?part=forecast-runs", **PART)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("status", "percent", "elapsed_s", "left"),
    [
        ("running", 25, 30, "about 2 min left"),
        ("running", 4, 30, "estimating..."),
        ("running", 50, 2, "estimating..."),
        ("queued", 0, 30, "estimating..."),
    ],
)
def test_the_time_left_is_the_elapsed_time_scaled_by_the_work_still_to_do(
    status, percent, elapsed_s, left
):
    now = timezone.now()
    progress = run_progress(
        status=status, started_at=now - timedelta(seconds=elapsed_s), now=now, percent=percent
    )
    assert progress.time_left == left and not progress.final
