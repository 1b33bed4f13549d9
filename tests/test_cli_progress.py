"""The long-running CLIs draw a progress bar on a terminal's stderr, and nothing otherwise."""

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TRACE = ROOT / "data" / "traces" / "alibaba_cluster2018_cpu_5min.csv"
BACKTEST = [
    *("-m", "forecasting", "backtest", "--trace", str(TRACE), "--horizon", "12"),
    *("--models", "seasonal_naive", "--folds", "3", "--json", "-"),
]
COMPARE = ["-m", "simulation", "compare", "--trace", str(TRACE), "--policies", "threshold"]


def stderr_of(args: list[str], *, terminal: bool) -> str:
    """What `python args` writes on stderr: a pipe, or a pseudo-terminal when `terminal`."""
    if not terminal:
        result = subprocess.run(
            [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return result.stderr
    controller, stderr = os.openpty()
    fcntl.ioctl(stderr, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))  # 24 x 80
    process = subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr
    )
    os.close(stderr)
    written = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: the process closed its end
            break
        if not chunk:
            break
        written += chunk
    os.close(controller)
    assert process.wait(timeout=120) == 0, written
    return written.decode()


@pytest.mark.parametrize(
    "args, label",
    [(BACKTEST, "backtest"), ([*COMPARE, "--json", "-"], "replay")],
    ids=["forecasting-backtest", "simulation-compare"],
)
def test_a_bar_on_a_terminal_and_none_in_a_pipe(args, label):
    assert stderr_of(args, terminal=False) == ""

    drawn = stderr_of(args, terminal=True)

    percents = [int(p) for p in re.findall(rf"\r{label}:\s+(\d+)%\|", drawn)]
    assert percents[0] == 0 and percents[-1] == 100
    assert any(0 < p < 100 for p in percents), drawn  # it moved on the way, not only at the end
    assert percents == sorted(percents)
