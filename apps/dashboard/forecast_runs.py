"""A workload's recent forecast runs as its page shows them, refreshed by htmx while one runs.

A forecast reports no progress while it fits, so its time left is estimated from how long the
workload's last finished runs of the same model took (their median): "estimating..." when
there are none.
"""

from statistics import median

from django.utils import timezone

from apps.dashboard.progress import RunProgress, run_progress
from apps.forecasts.models import ForecastRun

SHOWN = 5
TYPICAL_OF = 5  # finished runs a typical duration is taken from


def forecast_runs_context(workload) -> dict:
    """The newest runs with their progress, and whether the page should keep polling."""
    now = timezone.now()
    runs = list(ForecastRun.objects.filter(workload=workload).order_by("-created_at")[:SHOWN])
    rows = [(run, _progress(run, now)) for run in runs]
    return {
        "forecast_runs": rows,
        "forecast_runs_live": any(not progress.final for _, progress in rows),
    }


def _progress(run: ForecastRun, now) -> RunProgress:
    progress = run_progress(status=run.status, started_at=run.started_at, now=now)
    if progress.elapsed_s is None:
        return progress
    typical_s = typical_duration_s(run)
    left_s = None if typical_s is None else max(typical_s - progress.elapsed_s, 0.0)
    return RunProgress(progress.status, None, progress.elapsed_s, left_s)


def typical_duration_s(run: ForecastRun) -> float | None:
    """The median duration of the workload's last finished runs of `run`'s model, in seconds."""
    finished = (
        ForecastRun.objects.filter(
            workload_id=run.workload_id,
            model=run.model,
            status=ForecastRun.Status.SUCCEEDED,
            started_at__isnull=False,
            finished_at__isnull=False,
        )
        .order_by("-finished_at")
        .values_list("started_at", "finished_at")[:TYPICAL_OF]
    )
    durations = [(end - start).total_seconds() for start, end in finished]
    return median(durations) if durations else None
