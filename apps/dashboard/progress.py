"""How far a background run is, and how long it has left, as a page shows it while it runs.

The time left is the elapsed time since the run started, scaled by the work still to do:
elapsed x (100 - percent) / percent. It is only said once there is enough to go on (5 % done
and 3 s since the start); before that the page says "estimating...".
"""

from dataclasses import dataclass
from datetime import datetime

MIN_PERCENT = 5
MIN_ELAPSED_S = 3.0
FINAL_STATES = ("succeeded", "failed")


@dataclass(frozen=True)
class RunProgress:
    """A run's state for its page: status, percent done (None: not reported), seconds."""

    status: str
    percent: int | None
    elapsed_s: float | None
    left_s: float | None

    @property
    def final(self) -> bool:
        """True once the run has succeeded or failed: the page stops polling."""
        return self.status in FINAL_STATES

    @property
    def time_left(self) -> str:
        """'about 40 s left', 'about 3 min left', or 'estimating...'."""
        if self.left_s is None:
            return "estimating..."
        if self.left_s < 60:
            return f"about {max(1, round(self.left_s))} s left"
        return f"about {round(self.left_s / 60)} min left"

    @property
    def elapsed(self) -> str:
        """'running for 12 s' or 'running for 3 min'."""
        if self.elapsed_s is None:
            return ""
        if self.elapsed_s < 60:
            return f"running for {round(self.elapsed_s)} s"
        return f"running for {round(self.elapsed_s / 60)} min"


def run_progress(
    *, status: str, started_at: datetime | None, now: datetime, percent: int | None = None
) -> RunProgress:
    """The progress of a run that `started_at` and reports `percent` (0-100) done, at `now`."""
    elapsed_s = (now - started_at).total_seconds() if started_at and status == "running" else None
    left_s = None
    if elapsed_s is not None and percent is not None:
        if percent >= MIN_PERCENT and elapsed_s >= MIN_ELAPSED_S:
            left_s = elapsed_s * (100 - percent) / percent
    return RunProgress(status=status, percent=percent, elapsed_s=elapsed_s, left_s=left_s)
