"""What the Django benchmarks share: real PostgreSQL and Redis, a migrated database, one worker.

`django_on_servers()` starts PostgreSQL and Redis on free loopback ports (tests/servers.py),
creates and migrates a database, imports the shipped catalog and sets Django up against them;
`start_worker` starts ONE Celery worker process (solo pool) on the given queues.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
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
