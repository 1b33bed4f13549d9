"""A real Celery worker process for the integration tests, on the session's PostgreSQL and Redis."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from apps.kernel.tasks import Queue
from controlplane.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The test database this process uses, for the worker to use too."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def wait_until_finished(model, *, seconds: int) -> None:
    """Poll the only run of `model` until the worker has finished it."""
    deadline = time.monotonic() + seconds
    while model.objects.get().status in ("queued", "running"):
        assert time.monotonic() < deadline, (
            f"the worker did not finish {model.__name__} in {seconds} s"
        )
        time.sleep(0.2)


def start_worker(queues: list[Queue], log_path: Path) -> subprocess.Popen:
    """Start `celery worker` on `queues` as a separate process; wait until it answers a ping.

    Its output goes to `log_path`. A worker already running answers the ping too, so a second
    one waits until the ping has one more answer.
    """
    # The flow test's webhook receiver listens on 127.0.0.1.
    env = os.environ | {"DATABASE_URL": database_url(), "BALLAST_WEBHOOK_ALLOW_PRIVATE": "true"}
    before = len(celery_app.control.ping(timeout=0.5))
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "controlplane",
                "worker",
                "-n",
                f"{'+'.join(queue.value for queue in queues)}@%h",
                "-Q",
                ",".join(queue.value for queue in queues),
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while len(celery_app.control.ping(timeout=0.5)) <= before:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(log_path.read_text())
    return process


def stop_worker(process: subprocess.Popen) -> None:
    """Stop a worker `start_worker` started, warm (it finishes its task)."""
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture
def worker(transactional_db, tmp_path):
    """A worker on every queue, actuation and webhooks too."""
    process = start_worker(list(Queue), tmp_path / "worker.log")
    yield process
    stop_worker(process)
