"""A series' history as its readers need it: the raw points, and before them the rolled-up hours.

Retention (`apps.workloads.retention`) replaces raw points older than
BALLAST_OBSERVATIONS_RAW_DAYS with one `MetricRollup` per hour. `series_points` gives a reader one
continuous series: the raw points, preceded by each rolled-up hour that ends before the oldest of
them as `count` points of the hour's mean, spread evenly over the hour (one-minute data comes
back on its own grid, a flat hour at its mean; a rate or a count per interval keeps its level).

Who reads what:

- through `series_points` (raw and rollups): forecast training
  (`apps.forecasts.services.load_history`, the newest 86,400 points) and every reader of
  `apps.workloads.world.requests_history`: the workload page's traffic chart (30 days), the
  savings and what-if replays, and the plans' candidate replays (the newest
  BALLAST_PLAN_REPLAY_HOURS, inside the raw window);
- raw points only: the metric-observations API and the observations page (their counts and
  deletions), the live controller (its last minutes), plans' freshness checks and forecast
  step (the newest points), and ingest's checks of new points against recent ones.
"""

from datetime import datetime, timedelta

from apps.workloads.models import MetricObservation, MetricRollup

HOUR = timedelta(hours=1)


def series_points(
    workload_id: int, series: str, *, since: datetime | None = None, newest: int | None = None
) -> list[tuple[datetime, float]]:
    """(ts, value) of a series in time order, raw points and rolled-up hours (module docstring).

    `since` keeps the points at or after it; `newest` the newest that many.
    """
    raw = MetricObservation.objects.filter(workload_id=workload_id, series=series)
    rollups = MetricRollup.objects.filter(workload_id=workload_id, series=series)
    if since is not None:
        raw = raw.filter(ts__gte=since)
        rollups = rollups.filter(hour__gt=since - HOUR)
    if newest is None:
        points = list(raw.order_by("ts").values_list("ts", "value"))
    else:
        points = list(raw.order_by("-ts").values_list("ts", "value")[:newest])[::-1]
        if len(points) >= newest:
            return points
    if points:
        rollups = rollups.filter(hour__lte=points[0][0] - HOUR)
    hours = rollups.order_by("-hour").values_list("hour", "count", "mean")
    wanted = None if newest is None else newest - len(points)
    chunks, total = [], 0
    for hour, count, mean in hours.iterator():
        spread = [(hour + timedelta(seconds=round(i * 3600 / count)), mean) for i in range(count)]
        chunks.append([(ts, v) for ts, v in spread if since is None or ts >= since])
        total += len(chunks[-1])
        if wanted is not None and total >= wanted:
            break
    older = [point for chunk in reversed(chunks) for point in chunk]
    return (older if wanted is None else older[len(older) - min(wanted, len(older)) :]) + points
