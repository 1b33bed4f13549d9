"""What an observation may be, checked before anything is allocated or stored for it.

Every way in (a posted point, a trace row, a query filter) holds to the same bounds:

- instants between 1970-01-01 and 2100-01-01 UTC (`EARLIEST`, `LATEST`, the latter
  excluded): a trace dated 0001-01-01 would otherwise imply a grid of billions of slots, and
  9999-12-31 with a negative offset has no UTC equivalent at all;
- values finite, >= 0 and below `MAX_VALUE` (1e12 requests or milliseconds an interval);
- a series' regular grid of at most `MAX_GRID_SLOTS` slots (`forecasting.history.regularize`
  refuses a longer one before building it).

A new point of a stored series must not stray from it (`stray_refusal`): one such point
leaves a gap no forecast fills. The rules suit a new series with little history: the instant
is judged against the series' first point and the clock, the value only once the series has
`VALUE_HISTORY_POINTS` points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
EARLIEST_S = 0
LATEST_S = int(LATEST.timestamp())
MAX_VALUE = 1e12
MAX_GRID_SLOTS = 5_000_000
# A posted point may reach this far before a stored series' first point (a late batch of the
# day before), and this far past the clock (clock skew, a collector's buffering).
BEFORE_FIRST_S = 86_400
AFTER_NOW_S = 3_600
# Once a series has this many points, a value this many times its largest (at least 1) is a
# unit mistake or a test value, not traffic: a flash crowd is tens of times the usual peak.
VALUE_HISTORY_POINTS = 48
VALUE_JUMP = 1000.0


def instant_refusal(ts: datetime) -> str | None:
    """Why an aware instant is out of bounds; None when it lies in [EARLIEST, LATEST)."""
    try:
        utc = ts.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59-05:00: past the last representable instant
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        return (
            f"{ts.isoformat()} is outside the accepted range: from 1970-01-01T00:00:00Z "
            "to before 2100-01-01T00:00:00Z"
        )
    return None


def epoch_refusal(epoch_s: int) -> str | None:
    """`instant_refusal` for epoch seconds (any integer: nothing is converted first)."""
    if EARLIEST_S <= epoch_s < LATEST_S:
        return None
    return (
        f"epoch second {epoch_s} is outside the accepted range: from 1970-01-01T00:00:00Z "
        "to before 2100-01-01T00:00:00Z"
    )


def value_refusal(value: float) -> str | None:
    """Why a value may not be stored; None when finite, >= 0 and below `MAX_VALUE`."""
    if not math.isfinite(value):
        return f"must be finite, got {value}"
    if value < 0:
        return f"must be >= 0 (a count or a duration), got {value:g}"
    if value >= MAX_VALUE:
        return f"must be below {MAX_VALUE:g}, got {value:g}"
    return None


def grid_refusal(first_s: int, last_s: int, interval_s: int) -> str | None:
    """Why a regular grid from `first_s` to `last_s` by `interval_s` is too long to build."""
    slots = (last_s - first_s) // max(interval_s, 1) + 1
    if slots <= MAX_GRID_SLOTS:
        return None
    return (
        f"the points span {last_s - first_s:,} s at a {interval_s} s interval: {slots:,} "
        f"intervals, over the limit of {MAX_GRID_SLOTS:,} (check the first and last timestamps)"
    )


@dataclass(frozen=True)
class SeriesExtent:
    """What a stored series holds, for judging a new point: first instant, count, largest."""

    first_s: int
    points: int
    largest: float


def stray_refusal(
    epoch_s: int, value: float, extent: SeriesExtent | None, *, now_s: int
) -> tuple[str, str] | None:
    """("ts" or "value", why) when a new point strays from its series; None when it fits.

    - ts: more than `AFTER_NOW_S` after `now_s`, or, for a series with points, more than
      `BEFORE_FIRST_S` before its first one (import older history as a trace);
    - value: with `VALUE_HISTORY_POINTS` points or more, over `VALUE_JUMP` times the largest
      (or 1, if larger).
    """
    if epoch_s > now_s + AFTER_NOW_S:
        return "ts", (
            f"is {(epoch_s - now_s) / 3600:.1f} h after now: points more than "
            f"{AFTER_NOW_S // 3600} h ahead of the clock are refused"
        )
    if extent is None or extent.points == 0:
        return None
    if epoch_s < extent.first_s - BEFORE_FIRST_S:
        first = datetime.fromtimestamp(extent.first_s, UTC).isoformat().replace("+00:00", "Z")
        return "ts", (
            f"is {(extent.first_s - epoch_s) / 86400:.1f} days before the series' first point "
            f"({first}): at most {BEFORE_FIRST_S // 3600} h earlier is accepted here; import "
            "older history as a trace (trace-imports)"
        )
    ceiling = VALUE_JUMP * max(extent.largest, 1.0)
    if extent.points >= VALUE_HISTORY_POINTS and value > ceiling:
        return "value", (
            f"{value:g} is over {VALUE_JUMP:g} times the series' largest value "
            f"({extent.largest:g}): check its unit"
        )
    return None
