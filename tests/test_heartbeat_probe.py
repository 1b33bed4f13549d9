"""`python -m controlplane.heartbeat`: the probe's exit codes, and that it stays light."""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def probe(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "controlplane.heartbeat", *args],
        cwd=ROOT,
        env=os.environ | env,
        capture_output=True,
        text=True,
    )


def test_a_fresh_file_passes_and_an_old_or_missing_one_fails_with_one_line(tmp_path):
    beat = tmp_path / "heartbeat"
    missing = probe("--max-age", "90", BALLAST_HEARTBEAT_FILE=str(beat))
    assert missing.returncode == 1
    assert (
        missing.stderr.strip()
        == f"stale heartbeat: {beat} does not exist: the process has not beaten yet"
    )

    beat.touch()
    fresh = probe("--max-age", "90", BALLAST_HEARTBEAT_FILE=str(beat))
    assert (fresh.returncode, fresh.stdout, fresh.stderr) == (0, "", "")

    two_minutes_ago = time.time() - 120
    os.utime(beat, (two_minutes_ago, two_minutes_ago))
    old = probe("--max-age", "90", BALLAST_HEARTBEAT_FILE=str(beat))
    assert old.returncode == 1 and len(old.stderr.splitlines()) == 1
    assert "last touched 120 s ago (limit 90 s)" in old.stderr
    assert probe("--max-age", "150", "--file", str(beat)).returncode == 0


def test_the_probe_imports_neither_django_nor_celery():
    code = (
        "import runpy, sys\n"
        "try:\n"
        "    runpy.run_module('controlplane.heartbeat', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'celery', 'kombu'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "--max-age", "1"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.stdout.strip() == "[]", result.stderr
