"""Plan fixtures for every test, registered as a plugin by the root conftest.

A plannable online workload (catalog prices, SLA, a variant with a profile, 4 days of load),
a fresh stored forecast, a proposed plan, a plannable batch workload, and the actuators
connected to the moto server.
"""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

CATALOG = Path(__file__).resolve().parents[3] / "data" / "pricing" / "aws-us-east-1.json"
HISTORY_END = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def catalog(db):
    from apps.catalog.services import import_catalog

    import_catalog(json.loads(CATALOG.read_text()))


@pytest.fixture
def online_workload(team_a, catalog):
    """Team A's ranker: p99 under 100 ms, 20-180 requests per minute with a daily cycle."""
    from apps.catalog.models import InstanceType
    from apps.workloads.models import (
        SLA,
        CapacityProfile,
        DeploymentTarget,
        MetricObservation,
        ModelVariant,
        Workload,
    )

    workload = Workload.objects.create(team=team_a, name="ranker", kind="online")
    SLA.objects.create(workload=workload, latency_percentile=99, latency_target_ms=100)
    variant = ModelVariant.objects.create(
        workload=workload, name="ranker-small", accuracy=0.9, memory_mb=2048
    )
    CapacityProfile.objects.create(
        variant=variant,
        instance_type=InstanceType.objects.get(name="c6i.xlarge"),
        max_rps=40,
        service_time_ms=20,
    )
    DeploymentTarget.objects.create(
        workload=workload, kind="k8s_deployment", reference="prod/ranker"
    )
    minutes = 4 * 24 * 60
    t = np.arange(minutes)
    rng = np.random.default_rng(0)
    load = 6000 + 4800 * np.sin(2 * np.pi * t / 1440) + rng.normal(0, 300, minutes)
    start = HISTORY_END - timedelta(minutes=minutes)
    MetricObservation.objects.bulk_create(
        MetricObservation(
            workload=workload,
            series="requests",
            ts=start + timedelta(minutes=int(i)),
            value=float(max(v, 0)),
        )
        for i, v in enumerate(load)
    )
    return workload


@pytest.fixture
def stored_forecast(online_workload, sre_user):
    """A fresh forecast of the next day, per minute, as a worker would have stored it."""
    from apps.forecasts.models import ForecastRun

    t = np.arange(1440)
    mean = 6000 + 4800 * np.sin(2 * np.pi * t / 1440)
    return ForecastRun.objects.create(
        workload=online_workload,
        series="requests",
        horizon=1440,
        quantiles=[0.5, 0.9, 0.99],
        requested_by=sre_user,
        status=ForecastRun.Status.SUCCEEDED,
        model_used="seasonal_naive",
        interval_s=60,
        start=HISTORY_END,
        mean=mean.tolist(),
        quantile_values={
            "0.5": mean.tolist(),
            "0.9": (mean * 1.1).tolist(),
            "0.99": (mean * 1.25).tolist(),
        },
    )


@pytest.fixture
def aws_connected(moto_server):
    """The actuators' AWS clients pointed at the moto server, as the process's identity."""
    from django.test import override_settings

    from apps.actuation import registry

    registry.reset_connections()
    with override_settings(
        AWS_ENABLED=True, AWS_ENDPOINT_URL=moto_server, ACTUATOR_DEFAULT_IDENTITY=True
    ):
        yield
    registry.reset_connections()


@pytest.fixture
def sre_user(django_user_model, sre_a):
    return django_user_model.objects.get(username="sre-a")


@pytest.fixture
def build(django_capture_on_commit_callbacks):
    """Run a requested plan's chain here, as the worker would."""
    from apps.plans import services

    def run(plan_id: int):
        assert services.prepare_forecast(plan_id)
        services.build_plan(plan_id)

    return run


@pytest.fixture
def proposed(ci_a, online_workload, stored_forecast, build):
    """A plan requested by team A's CI and built: proposed."""
    from apps.plans.models import ScalingPlan

    response = ci_a.post("/api/v1/plans/", {"workload": online_workload.pk}, format="json")
    assert response.status_code == 202, response.data
    assert response.data["status"] == "draft"
    build(response.data["id"])
    return ScalingPlan.objects.get(pk=response.data["id"])


@pytest.fixture
def batch_workload(team_a, catalog):
    """Team A's nightly embedding refresh: 20 M items from 01:00 UTC inside 6 hours."""
    from datetime import time

    from apps.catalog.models import InstanceType
    from apps.workloads.models import SLA, CapacityProfile, ModelVariant, Workload

    workload = Workload.objects.create(team=team_a, name="embedding-refresh", kind="batch")
    SLA.objects.create(
        workload=workload, window_start_utc=time(1), window_length_h=6, items_per_run=2e7
    )
    variant = ModelVariant.objects.create(
        workload=workload, name="embedder-base", accuracy=0.88, memory_mb=4096
    )
    for name, rate in (("g4dn.xlarge", 900), ("g5.xlarge", 1500)):
        CapacityProfile.objects.create(
            variant=variant, instance_type=InstanceType.objects.get(name=name), items_per_s=rate
        )
    workload.targets.create(kind="aws_asg", reference="embedding-refresh-spot")
    return workload
