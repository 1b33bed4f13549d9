from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import redis
from django.conf import settings
from django.utils import timezone

from apps.forecasts import services
from apps.forecasts.models import ForecastRun
from apps.kernel.runs import claim_run
from apps.workloads.services import ingest_observations
from apps.workloads.tests.factories import WorkloadFactory
from conftest import field_errors
from forecasting.trace import read_trace

TRACE = Path(__file__).resolve().parents[3] / "data" / "traces" / "alibaba_cluster2018_cpu_5min.csv"


@pytest.fixture
def workload(team_a):
    return WorkloadFactory(team=team_a, name="ranker")


def store(workload, values, *, step_s=300, start=datetime(2024, 1, 3, tzinfo=UTC), skip=()):
    points = [
        (start + timedelta(seconds=i * step_s), float(v))
        for i, v in enumerate(values)
        if i not in skip
    ]
    ingest_observations(workload=workload, series="requests", points=points)


def make_run(workload, **fields):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.first()
    return ForecastRun.objects.create(
        workload=workload,
        requested_by=user,
        horizon=fields.pop("horizon", 288),
        quantiles=[0.5, 0.9, 0.99],
        **fields,
    )


def test_a_requested_run_is_queued_then_computed_and_read_back(
    sre_a, workload, django_capture_on_commit_callbacks
):
    trace = read_trace(TRACE)
    store(workload, trace.values)

    with django_capture_on_commit_callbacks() as callbacks:
        response = sre_a.post(
            "/api/v1/forecast-runs/",
            {"workload": workload.pk, "model": "seasonal_naive", "horizon": 288},
            format="json",
        )
    assert response.status_code == 201, response.data
    assert response.data["status"] == "queued" and len(callbacks) == 1

    services.execute_forecast_run(response.data["id"])

    run = sre_a.get(f"/api/v1/forecast-runs/{response.data['id']}/").data
    assert run["status"] == "succeeded", run["message"]
    assert (run["model_used"], run["history_points"], run["interval_s"]) == (
        "seasonal_naive",
        1728,
        300,
    )
    points = sre_a.get(f"/api/v1/forecast-runs/{run['id']}/points/").data
    assert len(points["timestamps"]) == len(points["mean"]) == 288
    assert points["timestamps"][0] == "2024-01-09T00:00:00Z"  # right after the last observation
    q50, q90, q99 = (np.array(points["quantiles"][k]) for k in ("0.5", "0.9", "0.99"))
    assert (q50 <= q90).all() and (q90 <= q99).all() and (q50 > 0).all()


def test_runs_that_train_the_lstm_go_to_the_gpu_queue_and_others_to_the_cpu_queue(
    sre_a, workload, django_capture_on_commit_callbacks
):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("cpu", "gpu")
    store(workload, np.arange(60.0))  # a series with no observations is refused

    with django_capture_on_commit_callbacks(execute=True):
        for model in ("lstm", "ets", "auto", "ensemble"):
            sre_a.post(
                "/api/v1/forecast-runs/",
                {"workload": workload.pk, "model": model, "horizon": 12},
                format="json",
            )

    assert (broker.llen("gpu"), broker.llen("cpu")) == (2, 2)  # auto backtests the LSTM
    broker.delete("cpu", "gpu")


def test_a_redelivered_run_is_computed_once(sre_a, workload):
    store(workload, read_trace(TRACE).values)
    run = make_run(workload, model="seasonal_naive")

    services.execute_forecast_run(run.pk)
    first = ForecastRun.objects.get(pk=run.pk)
    services.execute_forecast_run(run.pk)

    again = ForecastRun.objects.get(pk=run.pk)
    assert again.status == "succeeded" and again.finished_at == first.finished_at


def test_a_running_run_is_left_alone_until_its_worker_is_presumed_dead(sre_a, workload):
    run = make_run(workload, model="seasonal_naive")
    ForecastRun.objects.filter(pk=run.pk).update(status="running", started_at=timezone.now())

    assert claim_run(ForecastRun, run.pk) is False
    ForecastRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(hours=1))
    assert claim_run(ForecastRun, run.pk) is True


@pytest.mark.parametrize(
    ("values", "skip", "message"),
    [
        ([], (), "no observations in series 'requests'"),
        (np.arange(10.0), (), "the series has 10 points"),
        (np.full(600, 42.0), (), "the series is constant"),
        (np.arange(600.0) % 50, range(100, 160), "the longest gap is 60 intervals"),
    ],
    ids=["no data", "too little history", "constant", "gappy"],
)
def test_unusable_data_ends_the_run_with_a_clear_message(sre_a, workload, values, skip, message):
    if len(values):
        store(workload, values, skip=skip)
    run = make_run(workload, model="seasonal_naive")

    services.execute_forecast_run(run.pk)

    run.refresh_from_db()
    assert run.status == "failed" and message in run.message
    points = sre_a.get(f"/api/v1/forecast-runs/{run.pk}/points/")
    assert points.status_code == 409 and message in points.data["detail"]


def test_short_gaps_are_filled_and_said(sre_a, workload):
    store(workload, read_trace(TRACE).values, skip=(500, 501))
    run = make_run(workload, model="seasonal_naive", horizon=12)

    services.execute_forecast_run(run.pk)

    run.refresh_from_db()
    assert run.status == "succeeded" and "2 missing points filled" in run.message


def forecast_scraped(workload, offset):
    """A seasonal naive run on the test trace stored every 300 s, each point `offset(i)` off."""
    values = read_trace(TRACE).values
    start = datetime(2024, 1, 3, tzinfo=UTC)
    points = [
        (start + timedelta(seconds=i * 300) + offset(i), float(v)) for i, v in enumerate(values)
    ]
    ingest_observations(workload=workload, series="requests", points=points)
    run = make_run(workload, model="seasonal_naive", horizon=12)
    services.execute_forecast_run(run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.message
    assert (run.interval_s, run.history_points) == (300, len(values))
    return run, len(values)


def test_jittered_observations_are_forecast_on_their_grid_and_said(sre_a, workload):
    run, _ = forecast_scraped(workload, lambda i: timedelta(seconds=(i * 7) % 9 - 4 * (i > 0)))
    assert "points off the 300 s grid moved to it" in run.message


def test_millisecond_timestamps_are_rounded_to_their_second_and_counted(sre_a, workload):
    # whole seconds, then a few hundred milliseconds off, then whole, ...: half of them move
    run, n = forecast_scraped(workload, lambda i: timedelta(milliseconds=[0, -263, 0, 137][i % 4]))
    assert f"{n // 2} points off the 300 s grid moved to it" in run.message


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"horizon": 0}, "horizon", "greater than or equal to 1"),
        ({"quantiles": [0.5, 1.5]}, "quantiles", "strictly in (0, 1)"),
        ({"model": "arima"}, "model", "not a valid choice"),
        ({"series": "Requests!"}, "series", "lowercase letters"),
    ],
)
def test_bad_requests_are_refused_naming_the_field(sre_a, workload, changes, field, message):
    body = {"workload": workload.pk, "model": "ets", "horizon": 24} | changes

    response = sre_a.post("/api/v1/forecast-runs/", body, format="json")

    assert response.status_code == 400 and message in str(field_errors(response)[field])
    assert not ForecastRun.objects.exists()


def test_a_request_with_only_workload_and_horizon_gets_the_defaults(sre_a, workload):
    store(workload, np.arange(60.0))
    response = sre_a.post(
        "/api/v1/forecast-runs/", {"workload": workload.pk, "horizon": 24}, format="json"
    )

    assert response.status_code == 201, response.data
    run = ForecastRun.objects.get()
    assert (run.model, run.series, run.seed, run.quantiles) == (
        "auto",
        "requests",
        0,
        [0.5, 0.9, 0.99],
    )


def test_another_team_can_neither_request_nor_read_forecasts(sre_a, sre_b, workload):
    run = make_run(workload, model="ets")

    request = sre_b.post(
        "/api/v1/forecast-runs/", {"workload": workload.pk, "horizon": 24}, format="json"
    )

    assert request.status_code == 400 and "does not exist" in str(field_errors(request)["workload"])
    assert sre_b.get(f"/api/v1/forecast-runs/{run.pk}/").status_code == 404
    assert sre_b.get(f"/api/v1/forecast-runs/{run.pk}/points/").status_code == 404
