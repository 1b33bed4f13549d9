"""Liveness of Celery workers and beat, as a file's age: the processes touch it, a probe reads it.

A worker touches the file every `BALLAST_HEARTBEAT_INTERVAL_S` (15 s) while its consumer is
connected to the broker, and beat on every tick of its scheduler (controlplane/liveness.py); the
file is `BALLAST_HEARTBEAT_FILE`, by default /tmp/ballast-heartbeat. Kubernetes' exec probe runs

    python -m controlplane.heartbeat --max-age 90

which exits 0 while the file is younger than `--max-age` seconds and 1 with a one-line reason
otherwise. It runs every few seconds, so this module imports neither Django nor Celery (an
import-linter contract holds that), and importing the `controlplane` package loads neither.
"""

import argparse
import os
import sys
import time
from pathlib import Path

DEFAULT_FILE = "/tmp/ballast-heartbeat"
# How often a worker touches the file (and beat at least): well inside the probe's usual 90 s,
# so a late touch or two (a busy event loop, a slow disk) does not fail the probe.
DEFAULT_INTERVAL_S = 15.0


def heartbeat_file() -> Path:
    """The file to touch and to read: `BALLAST_HEARTBEAT_FILE`, else /tmp/ballast-heartbeat."""
    return Path(os.environ.get("BALLAST_HEARTBEAT_FILE") or DEFAULT_FILE)


def interval_s() -> float:
    """Seconds between touches: `BALLAST_HEARTBEAT_INTERVAL_S`, else 15 (< a third of max-age)."""
    return float(os.environ.get("BALLAST_HEARTBEAT_INTERVAL_S") or DEFAULT_INTERVAL_S)


def touch(path: Path | None = None) -> None:
    """Set the heartbeat file's modification time to now, creating it if need be."""
    (path or heartbeat_file()).touch()


def stale_reason(max_age_s: float, path: Path | None = None) -> str | None:
    """None while the file is younger than `max_age_s` seconds, else why the process seems dead."""
    path = path or heartbeat_file()
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return f"{path} does not exist: the process has not beaten yet"
    except OSError as exc:
        return f"{path} cannot be read: {exc}"
    if age >= max_age_s:
        return f"{path} last touched {age:.0f} s ago (limit {max_age_s:g} s)"
    return None


def main(argv: list[str] | None = None) -> int:
    """The probe: 0 when the heartbeat file is fresh, 1 (and the reason on stderr) otherwise."""
    parser = argparse.ArgumentParser(
        prog="python -m controlplane.heartbeat",
        description="Exit 0 while the heartbeat file is younger than --max-age seconds.",
    )
    parser.add_argument("--max-age", type=float, default=90.0, help="seconds (default 90)")
    parser.add_argument(
        "--file", type=Path, help=f"default: $BALLAST_HEARTBEAT_FILE or {DEFAULT_FILE}"
    )
    args = parser.parse_args(argv)
    reason = stale_reason(args.max_age, args.file)
    if reason:
        print(f"stale heartbeat: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
