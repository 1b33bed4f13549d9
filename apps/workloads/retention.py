"""Observation retention: raw points roll up into hourly rows, then old rollups go.

Celery beat runs `apply_retention` hourly (`apps.workloads.tasks.apply_observation_retention`):

- raw points (`MetricObservation`) older than BALLAST_OBSERVATIONS_RAW_DAYS (default 14), cut
  at a whole hour, are summarised per workload, series and hour into `MetricRollup` rows
  (count, mean, min, max) and deleted, `RAW_BATCH` points per transaction: the rollup and the
  deletion commit together, so a run stopped at any point never counts a point twice, and a
  run again finds nothing left to roll up. Points stored later for an hour already rolled up
  (a backfill) are merged into its row, the mean weighted by the counts;
- rollups older than BALLAST_OBSERVATIONS_ROLLUP_DAYS (default 400) are deleted, `RAW_BATCH`
  per transaction.

Each run stops after `MAX_BATCHES` transactions of each kind, or once `BUDGET_S` has passed; the
next run goes on. At one-minute data for 10,000 workloads (600,000 points an hour) a run rolls
up an hour's points in 60 transactions: on PostgreSQL on the 2-core development machine, 600,000
points (1,000 workloads x 10 hours) took 104 s (5,800 points/s), so a run catches up a backlog at
up to 2,000,000 points (`MAX_BATCHES` x `RAW_BATCH`), about 350 s.
"""

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Min, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from apps.workloads.models import MetricObservation, MetricRollup

log = logging.getLogger(__name__)

RAW_BATCH = 10_000
MAX_BATCHES = 200
# No batch starts after this long, so a run ends under its task's soft limit (600 s).
BUDGET_S = 420.0


@dataclass(frozen=True)
class RetentionReport:
    """One run: raw points rolled up (and deleted), hourly rows written, rollups deleted."""

    rolled_up: int
    rollup_rows: int
    rollups_deleted: int


def hour_floor(at: datetime) -> datetime:
    """The start of the hour `at` falls in, in UTC."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def raw_cutoff(now: datetime) -> datetime:
    """Raw points before this instant are rolled up: BALLAST_OBSERVATIONS_RAW_DAYS, whole hours."""
    return hour_floor(now - timedelta(days=settings.OBSERVATIONS_RAW_DAYS))


def apply_retention(
    *,
    now: datetime | None = None,
    batch: int = RAW_BATCH,
    max_batches: int = MAX_BATCHES,
    budget_s: float = BUDGET_S,
) -> RetentionReport:
    """Roll up the raw points past the raw window, then delete the rollups past theirs.

    At most `max_batches` transactions of each kind, none started after `budget_s` seconds.
    """
    now = now or timezone.now()
    deadline = time.monotonic() + budget_s
    cutoff = raw_cutoff(now)
    rolled = rows = 0
    for _ in range(max_batches):
        points, written = roll_up_batch(cutoff, batch)
        rolled, rows = rolled + points, rows + written
        if points < batch or time.monotonic() > deadline:
            break
    before = now - timedelta(days=settings.OBSERVATIONS_ROLLUP_DAYS)
    deleted = 0
    for _ in range(max_batches):
        gone = delete_rollups_batch(before, batch)
        deleted += gone
        if gone < batch or time.monotonic() > deadline:
            break
    if rolled or deleted:
        log.info(
            "retention: %s points rolled up into %s hourly rows, %s rollups deleted",
            rolled,
            rows,
            deleted,
        )
    return RetentionReport(rolled_up=rolled, rollup_rows=rows, rollups_deleted=deleted)


def roll_up_batch(cutoff: datetime, size: int) -> tuple[int, int]:
    """Roll up and delete at most `size` raw points older than `cutoff`, in one transaction.

    Returns (points rolled up, hourly rows written). The points are locked (SKIP LOCKED on
    PostgreSQL), so two runs at once take different points.
    """
    with transaction.atomic():
        ids = list(
            MetricObservation.objects.select_for_update(skip_locked=True)
            .filter(ts__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return 0, 0
        hours = (
            MetricObservation.objects.filter(pk__in=ids)
            .annotate(hour=TruncHour("ts", tzinfo=UTC))
            .values("workload_id", "series", "hour")
            .annotate(n=Count("pk"), total=Sum("value"), low=Min("value"), high=Max("value"))
            .order_by()
        )
        written = merge_hours(list(hours))
        MetricObservation.objects.filter(pk__in=ids).delete()
    return len(ids), written


def merge_hours(hours: list[dict]) -> int:
    """Add each hour's summary (workload_id, series, hour, n, total, low, high) to its rollup."""
    existing = {
        (r.workload_id, r.series, r.hour): r
        for r in MetricRollup.objects.select_for_update().filter(
            workload_id__in={h["workload_id"] for h in hours},
            series__in={h["series"] for h in hours},
            hour__in={h["hour"] for h in hours},
        )
    }
    new, changed = [], []
    for h in hours:
        row = existing.get((h["workload_id"], h["series"], h["hour"]))
        if row is None:
            new.append(
                MetricRollup(
                    workload_id=h["workload_id"],
                    series=h["series"],
                    hour=h["hour"],
                    count=h["n"],
                    mean=h["total"] / h["n"],
                    min=h["low"],
                    max=h["high"],
                )
            )
            continue
        count = row.count + h["n"]
        row.mean = (row.mean * row.count + h["total"]) / count
        row.count, row.min, row.max = count, min(row.min, h["low"]), max(row.max, h["high"])
        changed.append(row)
    MetricRollup.objects.bulk_create(new)
    MetricRollup.objects.bulk_update(changed, ["count", "mean", "min", "max"])
    return len(new) + len(changed)


def delete_rollups_batch(before: datetime, size: int) -> int:
    """Delete at most `size` rollups of hours before `before`; how many."""
    with transaction.atomic():
        ids = list(
            MetricRollup.objects.filter(hour__lt=before)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        deleted, _ = MetricRollup.objects.filter(pk__in=ids).delete()
    return deleted
