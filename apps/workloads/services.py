"""Every write to workloads: variants with their profiles, metric ingest, trace imports."""

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from django.db import transaction
from django.utils import timezone

from apps.workloads.models import (
    CapacityProfile,
    MetricObservation,
    ModelVariant,
    TraceImport,
    Workload,
)
from forecasting.trace import TraceError, read_trace

INGEST_BATCH_ROWS = 5000


@dataclass(frozen=True)
class IngestResult:
    """How many points a bulk ingest added and how many replaced an existing value."""

    received: int
    created: int
    updated: int


@transaction.atomic
def save_variant(*, variant: ModelVariant, profiles: list[dict] | None) -> ModelVariant:
    """Save a variant and, when given, replace its capacity profiles with `profiles`."""
    variant.save()
    if profiles is not None:
        variant.capacity_profiles.all().delete()
        CapacityProfile.objects.bulk_create(
            CapacityProfile(variant=variant, **profile) for profile in profiles
        )
    return variant


@transaction.atomic
def ingest_observations(
    *, workload: Workload, series: str, points: list[tuple[datetime, float]]
) -> IngestResult:
    """Upsert points on (workload, series, ts): the same point sent twice keeps one row.

    `points` must be validated and in time order (see `ingest.parse_points`); a later value for
    an existing timestamp replaces the stored one.
    """
    window = MetricObservation.objects.filter(
        workload=workload, series=series, ts__gte=points[0][0], ts__lte=points[-1][0]
    )
    before = window.count()
    for start in range(0, len(points), INGEST_BATCH_ROWS):
        MetricObservation.objects.bulk_create(
            [
                MetricObservation(workload=workload, series=series, ts=ts, value=value)
                for ts, value in points[start : start + INGEST_BATCH_ROWS]
            ],
            update_conflicts=True,
            unique_fields=["workload", "series", "ts"],
            update_fields=["value"],
        )
    created = window.count() - before
    return IngestResult(received=len(points), created=created, updated=len(points) - created)


def queue_trace_import(
    *, workload: Workload, series: str, filename: str, content: bytes, by
) -> TraceImport:
    """Store an uploaded trace and queue its import once the row is committed."""
    from apps.workloads import tasks  # tasks imports this module

    with transaction.atomic():
        trace_import = TraceImport.objects.create(
            workload=workload, series=series, filename=filename, content=content, requested_by=by
        )
        transaction.on_commit(lambda: tasks.import_trace.delay(trace_import.pk))
    return trace_import


def execute_trace_import(trace_import_id: int) -> None:
    """Parse a queued trace and upsert it as observations, or record why it failed.

    Redelivery is harmless: a finished import is left alone, and re-running a RUNNING one (its
    worker died) upserts the same rows again.
    """
    claimed = TraceImport.objects.filter(
        pk=trace_import_id, status__in=[TraceImport.Status.QUEUED, TraceImport.Status.RUNNING]
    ).update(status=TraceImport.Status.RUNNING)
    if not claimed:
        return
    trace_import = TraceImport.objects.select_related("workload").get(pk=trace_import_id)
    try:
        trace = read_trace(bytes(trace_import.content), name=trace_import.filename)
    except TraceError as exc:
        _finish(trace_import, TraceImport.Status.FAILED, message=f"{trace_import.filename}: {exc}")
        return
    with transaction.atomic():
        result = ingest_observations(
            workload=trace_import.workload,
            series=trace_import.series,
            points=_trace_points(trace.timestamps, trace.values),
        )
        _finish(
            trace_import,
            TraceImport.Status.SUCCEEDED,
            message=f"{result.created} new points, {result.updated} replaced",
            rows_imported=result.received,
            interval_s=trace.interval_s,
        )


def _trace_points(timestamps: np.ndarray, values: np.ndarray) -> list[tuple[datetime, float]]:
    seconds = timestamps.astype("datetime64[s]").astype(np.int64)
    return [
        (datetime.fromtimestamp(int(s), tz=UTC), float(v))
        for s, v in zip(seconds, values, strict=True)
    ]


def _finish(trace_import: TraceImport, status: str, **fields) -> None:
    TraceImport.objects.filter(pk=trace_import.pk).update(
        status=status, finished_at=timezone.now(), **fields
    )
