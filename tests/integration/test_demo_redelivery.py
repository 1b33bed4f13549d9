"""`make demo`'s broker: a worker killed with a task in hand runs it again when it starts next.

A real `celery worker` on the demo's defaults (filesystem broker, SQLite, no DATABASE_URL or
CELERY_BROKER_URL) takes a task due in a few seconds, is killed (SIGKILL: no warm shutdown, no
acknowledgement), and a new worker on the same folder runs the task.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# As the demo's web process sends a task: Django set up, then the project's Celery app.
SEND = (
    "import django; from controlplane.celery import app; django.setup(); "
    "print(app.send_task('celery.accumulate', args=(1,), countdown=10, queue='cpu').id)"
)


def demo_env(var: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "BALLAST_TASKS_EAGER")
    }
    return env | {"BALLAST_VAR_DIR": str(var)}


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "controlplane", "worker", "-Q", "cpu"]
        + ["--pool=solo", "--without-gossip", "--without-mingle", "-l", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for_line(log: Path, pattern: str, process: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not re.search(pattern, log.read_text()):
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"no {pattern!r} in the worker's log:\n{log.read_text()}")
        time.sleep(0.2)


@pytest.mark.integration
@pytest.mark.slow
def test_a_task_taken_by_a_killed_worker_runs_when_the_next_worker_starts(tmp_path):
    env = demo_env(tmp_path / "var")
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = start_worker(env, first_log)
    second = None
    try:
        wait_for_line(first_log, r"celery@\S+ ready", first, seconds=60)
        sent = subprocess.run(
            [sys.executable, "-c", SEND], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert sent.returncode == 0, sent.stderr
        task_id = sent.stdout.strip().splitlines()[-1]
        # The worker holds the task until its countdown is due: taken, not acknowledged.
        wait_for_line(first_log, rf"Task celery.accumulate\[{task_id}\] received", first, 30)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        assert f"Task celery.accumulate[{task_id}] succeeded" not in first_log.read_text()
        assert len(list((tmp_path / "var" / "broker" / "in-flight").iterdir())) == 1

        second = start_worker(env, second_log)
        wait_for_line(
            second_log, rf"Task celery.accumulate\[{task_id}\] succeeded", second, seconds=60
        )
        assert "1 interrupted task(s) put back in the queue" in second_log.read_text()
        assert not list((tmp_path / "var" / "broker" / "in-flight").iterdir())
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
