"""A real Celery worker process on the session's Redis imports an uploaded trace."""

from datetime import UTC
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.accounts.models import Role, Team
from apps.workloads.models import MetricObservation, TraceImport
from apps.workloads.tests.factories import WorkloadFactory
from conftest import token_client
from tests.integration.conftest import wait_until_finished

ROOT = Path(__file__).resolve().parents[2]
TRACE = ROOT / "data" / "traces" / "alibaba_cluster2018_cpu_5min.csv"


@pytest.mark.integration
def test_worker_imports_an_uploaded_trace(worker, make_user):
    team = Team.objects.create(slug="ops", name="Ops")
    client = token_client(make_user("ops-ci", role=Role.CI, team=team))
    workload = WorkloadFactory(team=team)

    response = client.post(
        "/api/v1/trace-imports/",
        {
            "workload": workload.pk,
            "series": "cpu_util",
            "file": SimpleUploadedFile(TRACE.name, TRACE.read_bytes()),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.data

    wait_until_finished(TraceImport, seconds=60)
    done = TraceImport.objects.get()
    assert done.status == "succeeded", done.message
    assert MetricObservation.objects.filter(workload=workload).count() == 1728
    status = client.get(f"/api/v1/trace-imports/{done.pk}/").data
    assert (status["status"], status["rows_imported"], status["interval_s"]) == (
        "succeeded",
        1728,
        300,
    )


@pytest.mark.integration
def test_worker_computes_a_requested_forecast(worker, make_user):
    from apps.forecasts.models import ForecastRun
    from apps.workloads.services import ingest_observations
    from forecasting.trace import read_trace

    team = Team.objects.create(slug="fc", name="Forecasts")
    client = token_client(make_user("fc-sre", role=Role.SRE, team=team))
    workload = WorkloadFactory(team=team)
    trace = read_trace(TRACE)
    ingest_observations(
        workload=workload,
        series="requests",
        points=[
            (ts.astype("datetime64[s]").item().replace(tzinfo=UTC), float(v))
            for ts, v in zip(trace.timestamps, trace.values, strict=True)
        ],
    )

    response = client.post(
        "/api/v1/forecast-runs/",
        {"workload": workload.pk, "model": "ets", "horizon": 288},
        format="json",
    )
    assert response.status_code == 201, response.data

    wait_until_finished(ForecastRun, seconds=120)
    run = ForecastRun.objects.get()
    assert run.status == "succeeded", run.message
    assert len(client.get(f"/api/v1/forecast-runs/{run.pk}/points/").data["mean"]) == 288


@pytest.mark.integration
def test_worker_solves_an_optimization_from_the_gpu_queue(worker, make_user):
    from apps.plans.models import OptimizationRun
    from optimization.problem import problem_to_dict
    from optimization.suite import bench_suite

    team = Team.objects.create(slug="opt", name="Optimizers")
    client = token_client(make_user("opt-sre", role=Role.SRE, team=team))
    workload = WorkloadFactory(team=team)
    problem = problem_to_dict(next(p for p in bench_suite() if p.name == "tiny-3x4x1"))

    response = client.post(
        "/api/v1/optimization-runs/",
        {"workload": workload.pk, "problem": problem, "method": "gapso"},
        format="json",
    )
    assert response.status_code == 201, response.data

    wait_until_finished(OptimizationRun, seconds=120)
    run = OptimizationRun.objects.get()
    assert run.status == "succeeded", run.message
    assert run.solution["feasible"] and run.pareto
