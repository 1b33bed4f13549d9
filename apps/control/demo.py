"""The demo's live traffic: each controlled workload's imported trace, replayed at wall time.

`make demo` has no live service to scrape, so this stands in for the metrics pusher a real
deployment has: every minute it stores, for each workload with an enabled controller and an
imported trace, the trace's value for the intervals just ended (the trace looped over wall
time, interval by interval). It runs only where `BALLAST_DEMO_FEED` is true, as `make demo`
sets it; the controller then meets fresh metrics as it would in production.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

import numpy as np
from django.utils import timezone

from apps.control.models import Controller
from apps.workloads.models import MetricObservation, TraceImport
from forecasting.trace import read_trace

BACKFILL = timedelta(days=30)  # a demo restarted after a pause fills the gap, up to this


@lru_cache(maxsize=16)
def _trace(import_id: int) -> tuple[np.ndarray, int, int]:
    """(values, interval, the interval index of its first row since the epoch)."""
    row = TraceImport.objects.get(pk=import_id)
    trace = read_trace(bytes(row.content), name=row.filename)
    first_s = int(trace.timestamps[0].astype("datetime64[s]").astype(np.int64))
    return trace.values, trace.interval_s, first_s // trace.interval_s


def shifted_to_now(content: bytes, now: datetime) -> bytes:
    """A trace CSV moved in time so that its last interval is the one that ended before `now`.

    The sample traces are years old; moved, they are the demo workloads' recent history, and
    `feed_demo_metrics` continues them at wall time.
    """
    trace = read_trace(content)
    seconds = trace.timestamps.astype("datetime64[s]").astype(np.int64)
    last = (int(now.timestamp()) // trace.interval_s - 1) * trace.interval_s
    moved = seconds + (last - int(seconds[-1]))
    stamps = np.datetime_as_string(moved.astype("datetime64[s]"), unit="s")
    rows = "".join(
        f"{ts}Z,{float(value)!r}\n" for ts, value in zip(stamps, trace.values, strict=True)
    )
    return ("timestamp,value\n" + rows).encode()


def feed_demo_metrics(now: datetime | None = None) -> int:
    """Store the intervals that ended since the last fed point; the number of points stored."""
    now = now or timezone.now()
    stored = 0
    for controller in Controller.objects.filter(enabled=True).select_related("workload"):
        source = (
            TraceImport.objects.filter(
                workload=controller.workload, series=controller.series, status="succeeded"
            )
            .order_by("created_at")
            .first()
        )
        if source is None:
            continue
        values, interval_s, first = _trace(source.pk)
        points = MetricObservation.objects.filter(
            workload=controller.workload, series=controller.series
        )
        newest = points.order_by("-ts").values_list("ts", flat=True).first()
        ended = int(now.timestamp() // interval_s)  # intervals [.., ended) are over
        start = int((now - BACKFILL).timestamp() // interval_s)
        if newest is not None:
            start = max(start, int(newest.timestamp() // interval_s) + 1)
        new = [
            MetricObservation(
                workload=controller.workload,
                series=controller.series,
                ts=datetime.fromtimestamp(i * interval_s, tz=UTC),
                value=float(values[(i - first) % len(values)]),
            )
            for i in range(start, ended)
        ]
        MetricObservation.objects.bulk_create(new, ignore_conflicts=True, batch_size=5000)
        stored += len(new)
    return stored
