"""Bounded work for any input: instants, values and grids refused before anything is built."""

import resource
import time
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from forecasting.base import SeriesError
from forecasting.bounds import (
    MAX_GRID_SLOTS,
    SeriesExtent,
    instant_refusal,
    stray_refusal,
    value_refusal,
)
from forecasting.history import regularize, stray_points
from forecasting.trace import TraceError, read_trace

NOW_S = int(datetime(2026, 12, 7, tzinfo=UTC).timestamp())


def minute_rows(n: int, start: str = "2024-01-01T00:00:00Z") -> list[str]:
    first = datetime.fromisoformat(start)
    return [
        f"{(first + timedelta(minutes=i)).isoformat().replace('+00:00', 'Z')},{i % 50}"
        for i in range(n)
    ]


def trace(rows: list[str]) -> bytes:
    return "\n".join(["timestamp,value", *rows]).encode()


@pytest.mark.parametrize(
    "ts",
    [
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5))),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
        datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2100, 1, 1, tzinfo=UTC),
    ],
)
def test_instants_outside_1970_to_2100_are_refused_without_overflow(ts):
    assert "outside the accepted range" in instant_refusal(ts)


def test_instants_inside_the_range_pass():
    assert instant_refusal(datetime(1970, 1, 1, tzinfo=UTC)) is None
    assert instant_refusal(datetime(2099, 12, 31, 19, tzinfo=timezone(timedelta(hours=-4)))) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [(float("inf"), "finite"), (-1.0, ">= 0"), (1e12, "below 1e+12"), (5.0, None)],
)
def test_values_are_finite_non_negative_and_below_the_ceiling(value, problem):
    refusal = value_refusal(value)
    assert (refusal is None) if problem is None else problem in refusal


@pytest.mark.parametrize(
    ("first", "problem"),
    [
        ("0001-01-01T00:00:00Z", "row 2: timestamp '0001-01-01T00:00:00Z' is outside"),
        ("9999-12-31T23:59:00-05:00", "row 2: timestamp '9999-12-31T23:59:00-05:00' is outside"),
    ],
)
def test_a_trace_dated_out_of_range_is_refused_naming_the_row(first, problem):
    with pytest.raises(TraceError, match=problem):
        read_trace(trace([f"{first},1", *minute_rows(60)]))


@pytest.mark.parametrize("step", ["minutes", "seconds"])
def test_a_trace_whose_grid_would_be_huge_is_refused_at_once(step):
    """One row in 1970 and a minute (or a second) grid: refused fast, without the grid."""
    rows = minute_rows(60)
    if step == "seconds":
        rows = [f"2024-01-01T00:00:{i:02d}Z,{i}" for i in range(60)]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(TraceError, match=f"over the limit of {MAX_GRID_SLOTS:,}"):
        read_trace(trace(["1970-01-01T00:00:00Z,1", *rows]))
    assert time.perf_counter() - started < 1
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB


def test_a_trace_mostly_empty_is_refused_before_its_grid_is_built():
    with pytest.raises(TraceError, match="misses"):
        read_trace(trace(["2023-06-01T00:00:00Z,1", *minute_rows(60)]))


@pytest.mark.parametrize("value", ["-3", "9" * 400, "1e12", "nan"])
def test_a_trace_value_out_of_range_is_refused_naming_the_row(value):
    rows = minute_rows(10)
    rows[4] = rows[4].split(",")[0] + "," + value
    with pytest.raises(TraceError, match="row 6: value .* is not a finite number >= 0 and below"):
        read_trace(trace(rows))


def test_two_stray_points_weeks_away_are_left_out_of_a_series():
    minutes = np.arange(1000, dtype=np.int64) * 60 + NOW_S - 1000 * 60
    stray = np.array([NOW_S - 40 * 86400, NOW_S - 40 * 86400 + 60])
    epoch_s = np.concatenate([stray, minutes])
    values = np.concatenate([[5.0, 5.0], np.full(1000, 7.0)])

    assert stray_points(epoch_s).tolist() == [True, True] + [False] * 1000
    with pytest.raises(SeriesError, match="misses"):
        regularize(epoch_s, values)
    series = regularize(epoch_s, values, drop_strays=True)
    assert (series.dropped, series.start_s, len(series.values)) == (2, int(minutes[0]), 1000)


def test_a_long_hole_in_real_history_is_not_a_stray():
    halves = [np.arange(500, dtype=np.int64) * 60, np.arange(500, dtype=np.int64) * 60 + 86400]
    epoch_s = np.concatenate(halves)
    assert not stray_points(epoch_s).any()
    with pytest.raises(SeriesError, match="misses"):
        regularize(epoch_s, np.ones(1000), drop_strays=True)


def test_a_new_series_takes_any_point_up_to_an_hour_ahead():
    assert stray_refusal(NOW_S - 10 * 365 * 86400, 1e9, None, now_s=NOW_S) is None
    assert stray_refusal(NOW_S + 3000, 5.0, None, now_s=NOW_S) is None
    field, why = stray_refusal(NOW_S + 7200, 5.0, None, now_s=NOW_S)
    assert field == "ts" and "2.0 h after now" in why


def test_a_point_far_before_a_series_or_far_above_its_values_is_refused():
    extent = SeriesExtent(first_s=NOW_S - 86400, points=100, largest=4000.0)
    assert stray_refusal(NOW_S - 1.5 * 86400, 4000.0, extent, now_s=NOW_S) is None
    field, why = stray_refusal(NOW_S - 30 * 86400, 5.0, extent, now_s=NOW_S)
    assert field == "ts" and "days before the series' first point" in why
    field, why = stray_refusal(NOW_S, 5e6, extent, now_s=NOW_S)
    assert field == "value" and "1000 times the series' largest value" in why
    young = SeriesExtent(first_s=NOW_S - 600, points=10, largest=4.0)
    assert stray_refusal(NOW_S, 5e6, young, now_s=NOW_S) is None
