r"""Fill a fresh SQLite database for the page benchmark: the demo's rows plus 20 busy workloads.

The demo comes from `seed_demo` (teams, users, the sample workloads and their traces, imported
here rather than by a worker); then 20 online workloads of the ml-platform team each get 30 days
of per-minute `requests` (43,200 points, 864,000 in all), one of them a built plan, and a
finished what-if run. Run it through benchmarks.pages, which sets BALLAST_VAR_DIR to a folder of
its own first; alone:

    BALLAST_SECRET_KEY=bench BALLAST_VAR_DIR=var/bench-pages \
        .venv/bin/python -m benchmarks.page_data
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass
from datetime import timedelta

import numpy as np

WORKLOADS = 20
DAYS = 30
MINUTES = DAYS * 24 * 60
USERNAME = "sre-ml"
PASSWORD = "bench-pages-password"  # a throwaway database on this machine only
BATCH = 10_000


@dataclass(frozen=True)
class PageData:
    """What the benchmark visits: a busy workload, its plan and a what-if run."""

    workload_id: int
    plan_id: int
    what_if_run_id: int


def requests_per_minute(seed: int) -> np.ndarray:
    """A month of requests per minute: daily and weekly cycles, noise and a few bursts."""
    rng = np.random.default_rng(seed)
    t = np.arange(MINUTES)
    base = 2_000 + 400 * seed
    daily = 0.6 * base * np.sin(2 * np.pi * (t / 1440 - 0.3))
    weekly = 0.15 * base * np.sin(2 * np.pi * t / (7 * 1440))
    y = base + daily + weekly + rng.normal(0, 0.03 * base, MINUTES)
    y[rng.integers(0, MINUTES, 40)] *= 1.8
    return np.maximum(y, 0)


def fill() -> PageData:
    """Seed the demo, add the busy workloads, a plan and a what-if run; Django is set up."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from controlplane.celery import app

    call_command("migrate", verbosity=0, interactive=False)
    app.conf.task_always_eager = True  # the traces are imported here, as a worker would
    try:
        call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    finally:
        app.conf.task_always_eager = False
    user = get_user_model().objects.get(username=USERNAME)
    user.set_password(PASSWORD)
    user.save()
    workloads = [_busy_workload(i) for i in range(WORKLOADS)]
    _say(f"{WORKLOADS} workloads of {MINUTES:,} points each")
    plan_id = _built_plan(workloads[0])
    _say(f"plan {plan_id} built")
    what_if_run_id = _what_if_run(user)
    _say(f"what-if run {what_if_run_id} done")
    return PageData(workload_id=workloads[0].pk, plan_id=plan_id, what_if_run_id=what_if_run_id)


def _say(what: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {what}", file=sys.stderr, flush=True)


def _busy_workload(i: int):
    from django.utils import timezone

    from apps.accounts.models import Team
    from apps.catalog.models import InstanceType
    from apps.workloads.models import (
        SLA,
        CapacityProfile,
        DeploymentTarget,
        MetricObservation,
        ModelVariant,
        Workload,
    )

    workload = Workload.objects.create(
        team=Team.objects.get(slug="ml-platform"),
        name=f"model-{i:02d}",
        kind="online",
        description="Synthetic: a month of per-minute requests for the page benchmark.",
    )
    SLA.objects.create(workload=workload, latency_percentile=99, latency_target_ms=100)
    for name, accuracy, profiles in (
        ("small", 0.90, [("c6i.xlarge", 60, 30), ("g4dn.xlarge", 400, 8)]),
        ("large", 0.93, [("g5.xlarge", 260, 14)]),
    ):
        variant = ModelVariant.objects.create(
            workload=workload, name=name, accuracy=accuracy, memory_mb=2048
        )
        for instance, max_rps, service_time_ms in profiles:
            CapacityProfile.objects.create(
                variant=variant,
                instance_type=InstanceType.objects.get(name=instance),
                max_rps=max_rps,
                service_time_ms=service_time_ms,
            )
    DeploymentTarget.objects.create(
        workload=workload, kind="k8s_deployment", reference=f"ml/model-{i:02d}"
    )
    end = timezone.now().replace(second=0, microsecond=0)
    start = end - timedelta(minutes=MINUTES)
    values = requests_per_minute(i)
    MetricObservation.objects.bulk_create(
        (
            MetricObservation(
                workload=workload,
                series="requests",
                ts=start + timedelta(minutes=m),
                value=float(values[m]),
            )
            for m in range(MINUTES)
        ),
        batch_size=BATCH,
    )
    return workload


def _built_plan(workload) -> int:
    """A plan requested by the team's CI and built here, as the worker would: proposed."""
    from django.contrib.auth import get_user_model

    from apps.plans import building
    from apps.plans.demand import prepare_forecast

    ci = get_user_model().objects.get(username="ci-ml")
    _stored_forecast(workload, ci)
    plan = building.request_plan(workload=workload, by=ci, via="benchmark")
    if prepare_forecast(plan.pk):
        building.build_plan(plan.pk)
    return plan.pk


def _stored_forecast(workload, user) -> None:
    """The next day per minute as a forecast worker would have stored it (no model is fitted)."""
    from apps.forecasts.models import ForecastRun
    from apps.workloads.models import MetricObservation

    latest = MetricObservation.objects.filter(workload=workload).latest("ts").ts
    mean = requests_per_minute(0)[-1440:]
    ForecastRun.objects.create(
        workload=workload,
        series="requests",
        horizon=1440,
        quantiles=[0.5, 0.9, 0.99],
        requested_by=user,
        status=ForecastRun.Status.SUCCEEDED,
        model_used="seasonal_naive",
        interval_s=60,
        start=latest + timedelta(minutes=1),
        mean=mean.tolist(),
        quantile_values={
            q: (mean * k).tolist() for q, k in (("0.5", 1), ("0.9", 1.1), ("0.99", 1.25))
        },
    )


def _what_if_run(user) -> int:
    """A what-if run of model-00's last 3 days, uploaded and replayed here as a worker would."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from apps.simulations import services

    end = timezone.now().replace(second=0, microsecond=0)
    values = requests_per_minute(0)[-3 * 1440 :]
    rows = [
        f"{(end - timedelta(minutes=len(values) - m)).isoformat()},{v:.1f}"
        for m, v in enumerate(values)
    ]
    content = "timestamp,value\n" + "\n".join(rows) + "\n"
    upload = SimpleUploadedFile("three-days.csv", content.encode(), content_type="text/csv")
    run = services.start_what_if(by=user, upload=upload, policies=["oracle"])
    services.execute_what_if(run.pk)
    return run.pk


def main() -> None:
    """Fill the database named by the environment and print what the benchmark visits."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")
    django.setup()
    print(asdict(fill()))


if __name__ == "__main__":
    main()
