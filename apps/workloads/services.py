"""Every write to workloads: variants, metric ingest, trace imports, Prometheus pulls."""

import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from apps.accounts.models import TOKEN_ENV_NAME
from apps.workloads.ingest import judge_points
from apps.workloads.models import (
    CapacityProfile,
    MetricObservation,
    MetricSource,
    ModelVariant,
    TraceImport,
    Workload,
    prometheus_host_refusal,
)
from forecasting.trace import TraceError, read_trace
from sources import prometheus

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
    *,
    workload: Workload,
    series: str,
    points: list[tuple[datetime, float]],
    judge: bool = True,
) -> IngestResult:
    """Upsert points on (workload, series, ts): the same point sent twice keeps one row.

    `points` must be validated and in time order (see `ingest.parse_points`); a later value for
    an existing timestamp replaces the stored one. Unless `judge` is False (a trace import, a
    Prometheus pull: whole series from their source), points that stray from the stored series
    are refused first (`ingest.judge_points`), and nothing is stored.

    Raises:
        rest_framework.exceptions.ValidationError: naming the straying point and why.
    """
    if judge:
        judge_points(workload, series, points)
    window = MetricObservation.objects.filter(
        workload=workload, series=series, ts__gte=points[0][0], ts__lte=points[-1][0]
    )
    before = window.count()
    if connection.vendor == "postgresql":
        _upsert_unnested(workload, series, points)
    else:
        _upsert_with_models(workload, series, points)
    created = window.count() - before
    return IngestResult(received=len(points), created=created, updated=len(points) - created)


def _upsert_unnested(workload: Workload, series: str, points: list[tuple[datetime, float]]):
    """One statement over two arrays: no model instance per point.

    The ORM's bulk upsert builds and compiles an instance a point, 1.5 s of a request for the
    19,000 points a 1 MB batch holds (benchmarks/request_bounds.py); this takes a tenth.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {MetricObservation._meta.db_table} (workload_id, series, ts, value) "
            "SELECT %s, %s, ts, value FROM unnest(%s::timestamptz[], %s::float8[]) AS p(ts, value) "
            "ON CONFLICT (workload_id, series, ts) DO UPDATE SET value = EXCLUDED.value",
            [workload.pk, series, [ts for ts, _ in points], [float(v) for _, v in points]],
        )


def _upsert_with_models(workload: Workload, series: str, points: list[tuple[datetime, float]]):
    """The ORM's bulk upsert, for the demo's SQLite."""
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
    gaps = (
        f"; {trace.filled} missing intervals left as gaps (forecasts fill them)"
        if trace.filled
        else ""
    )
    if trace.regridded:
        gaps += (
            f"; {trace.regridded} rows off the {trace.interval_s} s grid moved to it "
            "(averaged where they met)"
        )
    with transaction.atomic():
        result = ingest_observations(
            workload=trace_import.workload,
            series=trace_import.series,
            points=_trace_points(*trace.observed()),
            judge=False,  # checked on upload; a trace may backfill older history
        )
        _finish(
            trace_import,
            TraceImport.Status.SUCCEEDED,
            message=f"{result.created} new points, {result.updated} replaced{gaps}",
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


# Samples reach Prometheus up to a scrape interval late, so a point evaluated at "now" may still
# change: pulls stop this far in the past and pick the rest up next time.
PULL_SETTLE_S = 60
PROMETHEUS_TIMEOUT_S = 10.0
MAX_PULL_ERROR_CHARS = 2000
MAX_UNREACHABLE_CHARS = 500


class PullConfigError(Exception):
    """A source that cannot be pulled as configured (e.g. its token variable is unset)."""


class PullSkipped(Exception):
    """A source not pulled: its Prometheus did not answer another source's pull just before."""


def pull_metrics(
    source_id: int, *, now: datetime | None = None, unreachable: dict[str, str] | None = None
) -> MetricSource | None:
    """Pull a source's new points from Prometheus and upsert them; record the outcome on it.

    The range starts at the first multiple of `step_s` after the newest stored point of the
    series (or `lookback_h` before `now`, whichever is later) and ends `PULL_SETTLE_S` before
    `now`. Every failure is recorded in `last_error`, with nothing stored; only database errors
    propagate (the task retries them). Returns the updated source, or None if it is gone.

    `unreachable` (a batch's pulls share it) maps each base URL that timed out or refused the
    connection to its error: a source at such a URL is not asked again, its error says why,
    so one dead server costs a batch one timeout, not one per source.
    """
    source = MetricSource.objects.select_related("workload__team").filter(pk=source_id).first()
    if source is None:
        return None
    now = now or timezone.now()
    start, end = _pull_window(source, now)
    if start > end:  # nothing new on the step grid yet: no request
        return _record_pull(source, now=now, points=0)
    try:
        if refusal := prometheus_host_refusal(source.base_url):  # or the list changed since
            raise PullConfigError(refusal)
        if unreachable is not None and source.base_url in unreachable:
            raise PullSkipped(
                f"not pulled: {source.base_url} failed another source's pull in this batch "
                f"({unreachable[source.base_url]})"
            )
        series = prometheus.query_one_series(
            source.base_url,
            source.promql.replace("{workload}", source.workload.name),
            start,
            end,
            source.step_s,
            timeout_s=PROMETHEUS_TIMEOUT_S,
            headers=_auth_headers(source),
        )
    except (prometheus.PrometheusTimeout, prometheus.PrometheusUnreachable) as exc:
        if unreachable is not None:
            unreachable[source.base_url] = str(exc)[:MAX_UNREACHABLE_CHARS]
        return _record_pull(source, now=now, error=str(exc))
    except (prometheus.PrometheusError, PullConfigError, PullSkipped) as exc:
        return _record_pull(source, now=now, error=str(exc))
    points = [
        (datetime.fromtimestamp(t, UTC), v)
        for t, v in zip(series.timestamps_s, series.values, strict=True)
    ]
    with transaction.atomic():
        ingest_observations(
            workload=source.workload, series=source.series, points=points, judge=False
        )
        return _record_pull(source, now=now, points=len(points))


def _pull_window(source: MetricSource, now: datetime) -> tuple[datetime, datetime]:
    """[start, end] on the grid of multiples of step_s (unix time), both inclusive."""
    step_s = source.step_s
    oldest_s = math.ceil((now - timedelta(hours=source.lookback_h)).timestamp() / step_s) * step_s
    newest = MetricObservation.objects.filter(
        workload_id=source.workload_id, series=source.series
    ).aggregate(newest=Max("ts"))["newest"]
    start_s = oldest_s
    if newest is not None:
        start_s = max(oldest_s, (math.floor(newest.timestamp() / step_s) + 1) * step_s)
    end_s = math.floor((now.timestamp() - PULL_SETTLE_S) / step_s) * step_s
    return datetime.fromtimestamp(start_s, UTC), datetime.fromtimestamp(end_s, UTC)


def _auth_headers(source: MetricSource) -> dict[str, str]:
    """A bearer token from the environment variable the source names; never from the database."""
    if not source.token_env:
        return {}
    if not TOKEN_ENV_NAME.regex.match(source.token_env):  # rows written around the validators
        raise PullConfigError(f"token_env {source.token_env!r} must start with BALLAST_PROM_")
    if refusal := source.workload.team.token_env_refusal(source.token_env):  # or grant revoked
        raise PullConfigError(refusal)
    token = os.environ.get(source.token_env, "").strip()
    if not token:
        raise PullConfigError(
            f"environment variable {source.token_env} is not set on this worker: set it to the "
            "Prometheus bearer token, or clear token_env"
        )
    return {"Authorization": f"Bearer {token}"}


def _record_pull(
    source: MetricSource, *, now: datetime, points: int = 0, error: str = ""
) -> MetricSource:
    if error:
        fields = {"last_error": error[:MAX_PULL_ERROR_CHARS], "last_error_at": now}
        fields["points_last_pull"] = 0
    else:
        fields = {"last_success_at": now, "points_last_pull": points}
        fields |= {"last_error": "", "last_error_at": None}
    MetricSource.objects.filter(pk=source.pk).update(**fields)
    source.refresh_from_db()
    return source
