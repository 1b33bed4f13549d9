"""Parse bulk metric points sent to the API: every point checked, the first problem named."""

import math
from datetime import datetime

from django.conf import settings
from rest_framework.exceptions import ValidationError


def parse_points(raw: object) -> list[tuple[datetime, float]]:
    """Turn `[{"ts": ISO-8601, "value": number}, ...]` into (aware datetime, float) pairs.

    Timestamps must carry a time zone and strictly increase; values must be finite numbers.
    Raises a DRF ValidationError naming the field, e.g. `points[17].value`.
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
                    f"points[{index}].ts": [
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
        raise ValidationError({f"points[{index}]": ["must be an object with exactly ts and value"]})
    raw_ts, raw_value = item["ts"], item["value"]
    try:
        ts = datetime.fromisoformat(raw_ts) if isinstance(raw_ts, str) else None
    except ValueError:
        ts = None
    if ts is None:
        raise ValidationError({f"points[{index}].ts": [f"{raw_ts!r} is not an ISO-8601 timestamp"]})
    if ts.tzinfo is None:
        raise ValidationError(
            {f"points[{index}].ts": [f"{raw_ts!r} has no time zone; add Z or an offset"]}
        )
    if isinstance(raw_value, bool) or not isinstance(raw_value, int | float):
        raise ValidationError({f"points[{index}].value": [f"{raw_value!r} is not a number"]})
    if not math.isfinite(raw_value):
        raise ValidationError({f"points[{index}].value": [f"must be finite, got {raw_value}"]})
    return ts, float(raw_value)
