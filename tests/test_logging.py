"""One JSON log stream: gunicorn, Celery's worker and beat, each record with its request or task id.

The processes are real (gunicorn, `celery worker` with its prefork pool, `celery beat`) on the
session's PostgreSQL and Redis; every line they write must parse as one JSON object.
"""

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from controlplane import logging_setup
from controlplane.celery import app as celery_app
from tests.integration.conftest import database_url
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[1]


def start(args: list[str], tmp_path: Path, name: str, **env) -> tuple[subprocess.Popen, Path, Path]:
    """Start a process of Ballast with JSON logs; its stdout and stderr go to two files."""
    out, err = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
    environment = os.environ | {"BALLAST_LOG_FORMAT": "json"} | env
    process = subprocess.Popen(
        args, cwd=ROOT, env=environment, stdout=out.open("w"), stderr=err.open("w")
    )
    return process, out, err


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, as Kubernetes stops a pod, then wait."""
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


def records(*paths: Path) -> list[dict]:
    """Every line of the files as JSON: fails on the first line that is not one object."""
    parsed = []
    for path in paths:
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                pytest.fail(f"{path.name}: not a JSON line: {line!r}")
            assert isinstance(record, dict), line
            parsed.append(record)
    return parsed


def wait_for(predicate, seconds: float, what: str):
    """Poll until `predicate()` is truthy; its value."""
    deadline = time.monotonic() + seconds
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return value


def get(url: str, **headers) -> tuple[int, dict]:
    """Status and headers of a GET, errors included."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)
    except urllib.error.URLError:
        return 0, {}  # not listening yet


@pytest.mark.slow
def test_gunicorn_writes_json_lines_and_each_request_carries_its_id(tmp_path):
    port = free_port()
    # The image's command line: gunicorn.conf.py is read from the working directory.
    command = [sys.executable, "-m", "gunicorn", "controlplane.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "2", "--access-logfile", "-", "--error-logfile", "-"]
    process, out, err = start(command, tmp_path, "gunicorn")
    try:
        wait_for(lambda: get(f"http://127.0.0.1:{port}/healthz")[0] == 200, 60, "gunicorn")
        kept = get(f"http://127.0.0.1:{port}/healthz", **{"X-Request-ID": "req-1234abcd"})
        made = get(f"http://127.0.0.1:{port}/no-such-page", **{"X-Request-ID": "<bad id>"})
    finally:
        stop(process)

    assert kept[1]["X-Request-ID"] == "req-1234abcd"
    new_id = made[1]["X-Request-ID"]
    assert made[0] == 404 and new_id != "<bad id>" and logging_setup.REQUEST_ID.fullmatch(new_id)
    lines = records(out, err)
    access = [r for r in lines if r["logger"] == "gunicorn.access"]
    assert {
        "method": "GET",
        "path": "/healthz",
        "status": 200,
        "request_id": "req-1234abcd",
    }.items() <= next(r for r in access if r.get("request_id") == "req-1234abcd").items()
    by_id = [r for r in lines if r.get("request_id") == new_id]
    # Django's own record of the 404, logged after the middleware returned, and the access line.
    assert {r["logger"] for r in by_id} == {"django.request", "gunicorn.access"}, by_id
    assert any(r["logger"] == "gunicorn.error" and "Booting worker" in r["message"] for r in lines)
    assert all({"time", "level", "logger", "message", "process"} <= r.keys() for r in lines)


@pytest.mark.integration
def test_worker_and_beat_write_json_lines_and_a_task_s_records_carry_its_id(
    transactional_db, tmp_path, django_user_model
):
    from apps.plans.models import PlanStatus, ScalingPlan
    from apps.workloads.tests.factories import WorkloadFactory

    # A plan stuck applying: the sweeper task fails it and logs so (apps.plans.sweeper).
    user = django_user_model.objects.create_user(username="sweeper-test")
    plan = ScalingPlan.objects.create(
        workload=WorkloadFactory(),
        requested_by=user,
        status=PlanStatus.APPLYING,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    ScalingPlan.objects.filter(pk=plan.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    env = {"DATABASE_URL": database_url()}
    worker, worker_out, worker_err = start(
        [sys.executable, "-m", "celery", "-A", "controlplane", "worker", "-Q", "cpu"]
        + [
            "--concurrency=1",
            "-n",
            "logs@%h",
            "--without-mingle",
            "--without-gossip",
            "-l",
            "INFO",
        ],
        tmp_path,
        "worker",
        **env,
    )
    beat, beat_out, beat_err = start(
        [sys.executable, "-m", "celery", "-A", "controlplane", "beat", "-l", "INFO"]
        + ["--schedule", str(tmp_path / "beat-schedule")],
        tmp_path,
        "beat",
        **env,
    )
    try:
        wait_for(lambda: "ready." in worker_err.read_text(), 60, "the worker")
        sent = celery_app.send_task("apps.plans.tasks.sweep_stuck_plans", queue="cpu")
        wait_for(lambda: ScalingPlan.objects.get(pk=plan.pk).status == "failed", 60, "the sweep")
        wait_for(lambda: "succeeded" in worker_err.read_text(), 30, "the task's outcome")
        wait_for(lambda: "beat: Starting" in beat_err.read_text(), 30, "beat")
    finally:
        stop(worker)
        stop(beat)

    worker_lines = records(worker_out, worker_err)
    task_lines = [r for r in worker_lines if r.get("task_id") == sent.id]
    assert all(r["task_name"] == "apps.plans.tasks.sweep_stuck_plans" for r in task_lines)
    loggers = {r["logger"] for r in task_lines}
    # Received (the main process), the sweeper's own record in the pool process, the outcome.
    assert {"celery.worker.strategy", "apps.plans.sweeper", "celery.app.trace"} <= loggers
    sweeper = next(r for r in task_lines if r["logger"] == "apps.plans.sweeper")
    assert sweeper["process"] != worker.pid and sweeper["level"] == "WARNING"
    assert any("warm shutdown" in r["message"] for r in worker_lines)
    beat_lines = records(beat_out, beat_err)
    assert any(r["logger"] == "celery.beat" for r in beat_lines)


def test_the_request_id_is_kept_when_well_formed_and_made_otherwise(client, db):
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="0f8fad5b-d9cb-469f-a165-70867728950e")
    assert kept["X-Request-ID"] == "0f8fad5b-d9cb-469f-a165-70867728950e"
    for bad in ("short", "x" * 129, "with space in it", 'quote"inside'):
        made = client.get("/healthz", HTTP_X_REQUEST_ID=bad)["X-Request-ID"]
        assert made != bad and len(made) == 32
    assert client.get("/healthz")["X-Request-ID"] != client.get("/healthz")["X-Request-ID"]


def test_records_carry_the_bound_ids_in_both_formats():
    record = logging.LogRecord("ballast.test", logging.INFO, __file__, 1, "hello", None, None)
    logging_setup.bind_task("task-1", "apps.x.tasks.y")
    try:
        assert logging_setup.ContextFilter().filter(record)
    finally:
        logging_setup.unbind_task()
    assert (record.task_id, record.task_name) == ("task-1", "apps.x.tasks.y")
    plain = logging_setup.PlainFormatter(logging_setup.PLAIN_FORMAT).format(record)
    assert plain.endswith("hello [task_id=task-1 task_name=apps.x.tasks.y]")
    unbound = logging.LogRecord("ballast.test", logging.INFO, __file__, 1, "bye", None, None)
    logging_setup.ContextFilter().filter(unbound)
    assert not hasattr(unbound, "task_id")
