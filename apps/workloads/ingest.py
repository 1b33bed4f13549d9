"""Parse bulk metric points sent to the API: every point checked, the first problem named.

The bounds are `forecasting.bounds`' (instants from 1970 to before 2100 UTC, values finite,
>= 0 and below 1e12), and so are the stray-point rules `judge_points` applies against the
stored series.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Min
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.workloads.models import MetricObservation, Workload
from forecasting.bounds import SeriesExtent, instant_refusal, stray_refusal, value_refusal

# A new value is judged against the series' largest of its newest week.
VALUE_WINDOW = timedelta(days=7)


def parse_points(raw: object) -> list[tuple[datetime, float]]:
    """Turn `[{"ts": ISO-8601, "value": number}, ...]` into (aware datetime, float) pairs.

    Timestamps must carry a time zone, lie from 1970-01-01 to before 2100-01-01 UTC and
    strictly increase; values must be finite numbers >= 0 and below 1e12.
    Raises a DRF ValidationError naming the field, e.g. `points.17.value`.
    """
    limit = settings.MAX_POINTS_PER_REQUEST
    if not isinstance(raw, list) or not raw:
        raise ValidationError({"points": ["must be a non-empty list of {ts, value} objects"]})
    if len(raw) > limit:
        raise ValidationError(
            {
                "points": [
                    f"has {len(raw)} points; the limit is {limit} a request "
                    "(BALLAST_MAX_POINTS_PER_REQUEST): send several requests"
                ]
            }
        )
    points = []
    previous = None
    for index, item in enumerate(raw):
        ts, value = _parse_point(item, index)
        if previous is not None and ts <= previous:
            raise ValidationError(
                {
                    f"points.{index}.ts": [
                        f"{ts.isoformat()} is not after the previous point's "
                        f"{previous.isoformat()}: points must be in time order "
                        "without repeats"
                    ]
                }
            )
        points.append((ts, value))
        previous = ts
    return points


def _parse_point(item: object, index: int) -> tuple[datetime, float]:
    if not isinstance(item, dict) or set(item) != {"ts", "value"}:
        raise ValidationError({f"points.{index}": ["must be an object with exactly ts and value"]})
    raw_ts, raw_value = item["ts"], item["value"]
    try:
        ts = datetime.fromisoformat(raw_ts) if isinstance(raw_ts, str) else None
    except ValueError:
        ts = None
    if ts is None:
        raise ValidationError({f"points.{index}.ts": [f"{raw_ts!r} is not an ISO-8601 timestamp"]})
    if ts.tzinfo is None:
        raise ValidationError(
            {f"points.{index}.ts": [f"{raw_ts!r} has no time zone; add Z or an offset"]}
        )
    if isinstance(raw_value, bool) or not isinstance(raw_value, int | float):
        raise ValidationError({f"points.{index}.value": [f"{raw_value!r} is not a number"]})
    if refusal := instant_refusal(ts):
        raise ValidationError({f"points.{index}.ts": [refusal]})
    try:
        value = float(raw_value)
    except OverflowError:  # an integer of hundreds of digits
        value = float("inf")
    if refusal := value_refusal(value):
        raise ValidationError({f"points.{index}.value": [refusal]})
    return ts, value


def judge_points(
    workload: Workload, series: str, points: list[tuple[datetime, float]], *, now=None
) -> None:
    """Refuse points that stray from the stored series (`forecasting.bounds.stray_refusal`).

    A point more than an hour ahead of the clock, more than a day before the series' first
    point, or (once its newest week holds 48 points) over 1000 times that week's largest
    value is refused, so that a test timestamp or a unit mistake never leaves a series with a
    gap no forecast fills. Raises a DRF ValidationError naming the point and the reason.
    """
    now_s = int((now or timezone.now()).timestamp())
    rows = MetricObservation.objects.filter(workload=workload, series=series)
    span = rows.aggregate(first=Min("ts"), last=Max("ts"))
    extent = None
    if span["first"] is not None:
        recent = rows.filter(ts__gte=span["last"] - VALUE_WINDOW)
        week = recent.aggregate(points=Count("pk"), largest=Max("value"))
        extent = SeriesExtent(
            first_s=int(span["first"].timestamp()),
            points=week["points"],
            largest=float(week["largest"] or 0.0),
        )
    for index, (ts, value) in enumerate(points):
        if refusal := stray_refusal(int(ts.timestamp()), value, extent, now_s=now_s):
            field, why = refusal
            raise ValidationError({f"points.{index}.{field}": [f"{ts.isoformat()}: {why}"]})
