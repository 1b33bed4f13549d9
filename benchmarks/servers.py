"""What the Django benchmarks share: real PostgreSQL and Redis, a migrated database, one worker.

`django_on_servers()` starts PostgreSQL and Redis on free loopback ports (tests/servers.py),
creates and migrates a database, imports the shipped catalog and sets Django up against them;
`start_worker` starts ONE Celery worker process (solo pool) on the given queues.
"""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def django_on_servers(prefix: str) -> Iterator[str]:
    """Servers up, Django set up and migrated, the catalog imported; yields the var folder."""
    sys.path.insert(0, str(ROOT))
    from tests.servers import start_servers

    servers = start_servers()
    try:
        with psycopg.connect(servers.database_url.rsplit("/", 1)[0] + "/postgres") as admin:
            admin.autocommit = True
            admin.execute("CREATE DATABASE ballast")
        var = tempfile.mkdtemp(prefix=prefix)
        os.environ |= {
            "DATABASE_URL": servers.database_url,
            "CELERY_BROKER_URL": servers.broker_url,
            "BALLAST_SECRET_KEY": os.environ.get("BALLAST_SECRET_KEY", "benchmark-only"),
            "BALLAST_VAR_DIR": var,
            "DJANGO_SETTINGS_MODULE": "controlplane.settings",
        }
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("import_catalog", stdout=open(os.devnull, "w"))
        yield var
    finally:
        servers.stop()


@contextlib.contextmanager
def worker(var: str, queues: str, processes: int = 1) -> Iterator[subprocess.Popen]:
    """A worker on `queues`, answering a ping before this yields.

    One process (solo pool), or `processes` child processes (prefork pool).
    """
    from controlplane.celery import app

    pool = ["--pool=solo"] if processes == 1 else ["--pool=prefork", f"--concurrency={processes}"]
    log = open(Path(var) / "worker.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "controlplane", "worker", "-Q", queues]
        + [*pool, "--without-gossip", "--without-mingle", "-l", "WARNING"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while not app.control.ping(timeout=0.5):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((Path(var) / "worker.log").read_text())
        yield process
    finally:
        process.terminate()
        process.wait(timeout=60)


def wait_for(done: Callable[[], bool], seconds: float = 3600) -> None:
    """Poll `done` every 0.2 s."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("the worker did not finish in time")
        time.sleep(0.2)


def bench_user():
    """Team "bench" and its CI user, who requests the benchmarks' forecasts and plans."""
    from django.contrib.auth import get_user_model

    from apps.accounts.models import Role, Team, TeamMembership

    team = Team.objects.create(slug="bench", name="Bench")
    user = get_user_model().objects.create_user("bench-ci")
    TeamMembership.objects.create(team=team, user=user, role=Role.CI)
    return team, user


def online_workload(team, name: str, counts, *, step_s: int, end: datetime):
    """An online workload with `counts` as its request counts per `step_s`, the last before `end`.

    Its SLA is p99 under 100 ms; one variant on c6i.xlarge at 40 rps a replica; a dry-run
    Deployment as its target.
    """
    from apps.catalog.models import InstanceType
    from apps.workloads.models import (
        SLA,
        CapacityProfile,
        DeploymentTarget,
        MetricObservation,
        ModelVariant,
        Workload,
    )

    workload = Workload.objects.create(team=team, name=name, kind="online")
    SLA.objects.create(
        workload=workload, latency_percentile=99, latency_target_ms=100, availability=0.999
    )
    variant = ModelVariant.objects.create(workload=workload, name="v", accuracy=0.9, memory_mb=2048)
    CapacityProfile.objects.create(
        variant=variant,
        instance_type=InstanceType.objects.get(name="c6i.xlarge"),
        max_rps=40,
        service_time_ms=20,
    )
    DeploymentTarget.objects.create(workload=workload, kind="k8s_deployment", reference="x/y")
    MetricObservation.objects.bulk_create(
        (
            MetricObservation(
                workload=workload,
                series="requests",
                ts=end - timedelta(seconds=step_s * (len(counts) - k)),
                value=float(v),
            )
            for k, v in enumerate(counts)
        ),
        batch_size=5000,
    )
    return workload


def this_run(command: str) -> str:
    """The line a server benchmark's document opens with: how to reproduce it, and on what."""
    return (
        f"Reproduce: `{command}` (starts its own PostgreSQL and Redis). This run: "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared with other "
        f"work while it ran), Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}."
    )


def seconds(values: list[float]) -> str:
    """Measured seconds, one decimal each, for a table cell."""
    return ", ".join(f"{v:.1f}" for v in values)
