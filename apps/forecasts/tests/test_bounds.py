"""Forecast requests refused at the API: seeds out of range, empty series, pathological ids."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from apps.forecasts import services
from apps.forecasts.models import ForecastRun
from apps.forecasts.tests.test_runs import TRACE, make_run, store
from apps.workloads.models import MetricObservation
from apps.workloads.tests.factories import WorkloadFactory
from conftest import field_errors
from forecasting.base import MAX_SEED
from forecasting.trace import read_trace


@pytest.fixture
def workload(team_a):
    return WorkloadFactory(team=team_a, name="ranker")


def ask(client, workload, **fields):
    body = {"workload": workload.pk, "model": "seasonal_naive", "horizon": 12} | fields
    return client.post("/api/v1/forecast-runs/", body, format="json")


@pytest.mark.parametrize("seed", [2**63 + 1, MAX_SEED + 1, -1])
def test_a_seed_out_of_range_is_refused_naming_it(sre_a, workload, seed):
    store(workload, np.arange(60.0))
    response = ask(sre_a, workload, seed=seed)
    assert response.status_code == 400
    assert "seed" in field_errors(response)
    assert not ForecastRun.objects.exists()


def test_the_largest_seed_is_taken(sre_a, workload):
    store(workload, np.arange(60.0))
    assert ask(sre_a, workload, seed=MAX_SEED).status_code == 201


def test_a_series_with_no_observations_is_refused_naming_the_series(sre_a, workload):
    store(workload, np.arange(60.0))
    response = ask(sre_a, workload, series="latency_p99_ms")
    assert response.status_code == 400
    assert "no observations of 'latency_p99_ms'" in str(field_errors(response)["series"])
    assert not ForecastRun.objects.exists()


@pytest.mark.parametrize("pk", ["abc", "1.5", "99999999999999999999"])
def test_points_of_a_pathological_id_answer_404(sre_a, pk):
    assert sre_a.get(f"/api/v1/forecast-runs/{pk}/points/").status_code == 404


def test_two_stray_points_weeks_before_a_series_do_not_stop_its_forecast(sre_a, workload):
    trace = read_trace(TRACE)
    store(workload, trace.values)
    first = MetricObservation.objects.earliest("ts").ts
    for minutes in (0, 1):  # the schema's example, posted before the checks existed
        MetricObservation.objects.create(
            workload=workload,
            series="requests",
            ts=first - timedelta(days=30) + timedelta(minutes=minutes),
            value=4210.0,
        )
    run = make_run(workload, model="seasonal_naive", horizon=12)

    services.execute_forecast_run(run.pk)

    run.refresh_from_db()
    assert run.status == "succeeded", run.message
    assert "2 stray points far from the rest left out" in run.message
    assert run.history_points == len(trace.values)
    assert run.start > datetime(2024, 1, 3, tzinfo=UTC)
