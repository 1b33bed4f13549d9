"""Heartbeat probes: a real worker and a real beat touch the file, and stop when they should."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
INTERVAL_S = 0.5


def probe(path: Path, max_age: float) -> subprocess.CompletedProcess:
    """`python -m controlplane.heartbeat` as Kubernetes runs it."""
    return subprocess.run(
        [sys.executable, "-m", "controlplane.heartbeat", "--max-age", str(max_age)],
        cwd=ROOT,
        env=os.environ | {"BALLAST_HEARTBEAT_FILE": str(path)},
        capture_output=True,
        text=True,
    )


def wait_for(condition, *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {seconds} s"
        time.sleep(0.1)


def mtime(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


def still_beating(path: Path) -> bool:
    """Whether the file's mtime moves forward within four intervals."""
    before = mtime(path)
    deadline = time.monotonic() + 4 * INTERVAL_S + 1
    while time.monotonic() < deadline:
        if mtime(path) > before:
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def redis(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def start(args: list[str], tmp_path: Path, broker: str) -> tuple[subprocess.Popen, Path]:
    """Start `celery -A controlplane <args>` on `broker`, beating into its own file."""
    beat_file = tmp_path / "heartbeat"
    env = os.environ | {
        "CELERY_BROKER_URL": broker,
        "BALLAST_HEARTBEAT_FILE": str(beat_file),
        "BALLAST_HEARTBEAT_INTERVAL_S": str(INTERVAL_S),
    }
    log = (tmp_path / "celery.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "controlplane", *args, "-l", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process, beat_file


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=30)


@pytest.mark.integration
def test_a_worker_beats_while_connected_and_stops_without_its_broker(tmp_path, redis):
    worker, beat_file = start(
        ["worker", "-Q", "cpu", "--concurrency", "1", "--without-gossip", "--without-mingle"],
        tmp_path,
        redis.url,
    )
    try:
        wait_for(beat_file.exists, seconds=60, what="the worker touched its heartbeat file")
        assert still_beating(beat_file)
        assert probe(beat_file, max_age=5).returncode == 0

        redis.stop()
        time.sleep(2 * INTERVAL_S)  # the consumer notices the lost connection
        assert not still_beating(beat_file), "touched with no broker"
        down = probe(beat_file, max_age=2)
        assert down.returncode == 1 and "last touched" in down.stderr

        redis.start()  # same port: the worker reconnects and beats again
        wait_for(lambda: probe(beat_file, max_age=2).returncode == 0, seconds=60, what="beating")
    finally:
        stop(worker)
    assert not still_beating(beat_file), "touched after the worker stopped"
    assert probe(beat_file, max_age=1).returncode == 1


@pytest.mark.integration
def test_beat_touches_the_file_on_its_ticks(tmp_path, redis):
    beat, beat_file = start(["beat", "--schedule", str(tmp_path / "schedule")], tmp_path, redis.url)
    try:
        wait_for(beat_file.exists, seconds=60, what="beat touched its heartbeat file")
        # Beat's next task is a minute away: it ticks anyway, every interval.
        assert still_beating(beat_file) and still_beating(beat_file)
        assert probe(beat_file, max_age=5).returncode == 0
    finally:
        stop(beat)
    assert not still_beating(beat_file)
    assert probe(beat_file, max_age=1).returncode == 1
