"""A few stray points do not stop planning; a second schedule for a workload is a 400."""

from datetime import timedelta

import pytest

from apps.forecasts import services as forecast_services
from apps.plans.models import PlanSchedule, ScalingPlan
from apps.workloads.models import MetricObservation
from conftest import field_errors


@pytest.fixture
def seasonal_naive_forecasts(monkeypatch):
    """Plans compute `auto` forecasts; the naive one keeps this test fast, on the same history."""
    real = forecast_services.forecast_series

    def naive(values, **options):
        return real(values, **{**options, "model": "seasonal_naive"})

    monkeypatch.setattr(forecast_services, "forecast_series", naive)


def test_two_stray_points_weeks_away_do_not_stop_a_plan(
    ci_a, online_workload, seasonal_naive_forecasts, build
):
    first = MetricObservation.objects.filter(workload=online_workload).earliest("ts").ts
    for minutes in (0, 1):  # the schema's example timestamp, posted before the checks existed
        MetricObservation.objects.create(
            workload=online_workload,
            series="requests",
            ts=first - timedelta(days=45, minutes=-minutes),
            value=4210.0,
        )
    response = ci_a.post("/api/v1/plans/", {"workload": online_workload.pk}, format="json")
    assert response.status_code == 202, response.data

    build(response.data["id"])

    plan = ScalingPlan.objects.get(pk=response.data["id"])
    assert plan.status == "proposed", plan.message
    assert "2 stray points far from the rest left out" in plan.forecast_run.message


def test_a_second_schedule_for_a_workload_is_refused_naming_it(sre_a, online_workload):
    body = {"workload": online_workload.pk, "every_minutes": 60}
    assert sre_a.post("/api/v1/plan-schedules/", body, format="json").status_code == 201

    again = sre_a.post("/api/v1/plan-schedules/", body, format="json")

    assert again.status_code == 400
    assert "already has a plan schedule" in str(field_errors(again)["workload"])
    assert PlanSchedule.objects.count() == 1
    schedule = PlanSchedule.objects.get()
    changed = sre_a.patch(
        f"/api/v1/plan-schedules/{schedule.pk}/", {"every_minutes": 30}, format="json"
    )
    assert changed.status_code == 200, changed.data


def test_a_plan_for_a_region_the_catalog_lacks_is_refused_naming_it(ci_a, online_workload):
    response = ci_a.post(
        "/api/v1/plans/", {"workload": online_workload.pk, "region": "mars-1"}, format="json"
    )
    assert response.status_code == 400
    assert "unknown region 'mars-1'" in field_errors(response)["region"][0]
    assert not ScalingPlan.objects.exists()
