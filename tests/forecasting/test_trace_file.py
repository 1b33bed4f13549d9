"""Reading trace files: time zones, and the row a refusal names."""

import numpy as np
import pytest

from forecasting.trace import TraceError, read_trace

ROWS = ["2014-04-10 00:04:00", "2014-04-10 00:09:00", "2014-04-10 00:14:00"]


def csv(stamps, values=(94.0, 56.0, 71.0)):
    lines = ["timestamp,value", *(f"{t},{v}" for t, v in zip(stamps, values, strict=True))]
    return ("\n".join(lines) + "\n").encode()


def test_timestamps_without_a_zone_are_read_as_utc():
    naive = read_trace(csv(ROWS))
    utc = read_trace(csv([t.replace(" ", "T") + "Z" for t in ROWS]))
    assert naive.interval_s == 300
    assert np.array_equal(naive.timestamps, utc.timestamps)
    assert naive.timestamps[0] == np.datetime64("2014-04-10T00:04:00")


def test_an_offset_is_converted_to_utc():
    shifted = read_trace(csv([t.replace(" ", "T") + "+02:00" for t in ROWS]))
    assert shifted.timestamps[0] == np.datetime64("2014-04-09T22:04:00")


@pytest.mark.parametrize(
    "stamps, row, problem",
    [
        ([ROWS[0] + "Z", ROWS[1], ROWS[2] + "Z"], 3, "has no time zone, unlike row 2"),
        ([ROWS[0], ROWS[1] + "+00:00", ROWS[2]], 3, "has a time zone, unlike row 2"),
    ],
)
def test_a_file_mixing_zoned_and_unzoned_timestamps_is_refused(stamps, row, problem):
    with pytest.raises(TraceError, match=f"row {row}: .*{problem}"):
        read_trace(csv(stamps))


@pytest.mark.parametrize(
    "stamp, says_epoch", [("1397088540", True), ("1397088540123.5", True), ("10/04/2014", False)]
)
def test_a_timestamp_that_is_not_iso_8601_is_refused_naming_the_row(stamp, says_epoch):
    with pytest.raises(TraceError, match=f"row 3: timestamp '{stamp}' is not ISO-8601") as caught:
        read_trace(csv([ROWS[0], stamp, ROWS[2]]))
    assert ("epoch numbers are not read" in str(caught.value)) is says_epoch


def test_timestamps_out_of_order_are_refused_naming_the_row():
    with pytest.raises(TraceError, match="row 4: timestamp is out of order"):
        read_trace(csv([ROWS[0], ROWS[1], ROWS[0]]))


def gappy(n=600, interval_s=300, missing=(100, 101, 350)):
    start = np.datetime64("2014-04-10T00:00:00")
    keep = [i for i in range(n) if i not in missing]
    stamps = [str(start + np.timedelta64(i * interval_s, "s")) for i in keep]
    values = [float(10 + i % 7) for i in keep]
    return csv(stamps, values), keep


def test_fill_gaps_interpolates_a_few_missing_intervals_and_counts_them():
    content, _ = gappy()
    with pytest.raises(TraceError, match="row 102: timestamp is irregular"):
        read_trace(content, fill_gaps=False)
    trace = read_trace(content, fill_gaps=True)
    assert (len(trace), trace.interval_s, trace.filled) == (600, 300, 3)
    assert trace.values[99:103].tolist() == pytest.approx([11.0, 12.0, 13.0, 14.0])  # 11 .. 14
    assert trace.timestamps[100] == np.datetime64("2014-04-10T08:20:00")
    assert trace.filled_at.tolist() == [100, 101, 350]


def test_observed_leaves_the_filled_rows_out():
    content, keep = gappy()
    stamps, values = read_trace(content, fill_gaps=True).observed()
    start = np.datetime64("2014-04-10T00:00:00")
    assert np.array_equal(stamps, [start + np.timedelta64(i * 300, "s") for i in keep])
    assert values.tolist() == [float(10 + i % 7) for i in keep]
    whole = read_trace(csv(ROWS))
    assert whole.filled == 0 and len(whole.observed()[1]) == 3


def test_fill_gaps_still_refuses_long_holes_and_disorder():
    content, _ = gappy(missing=tuple(range(100, 140)))
    with pytest.raises(TraceError, match="longest gap is 40 intervals"):
        read_trace(content, fill_gaps=True)
    with pytest.raises(TraceError, match="row 4: timestamp is out of order"):
        read_trace(csv([ROWS[0], ROWS[1], ROWS[0]]), fill_gaps=True)


def test_intervals_under_a_second_are_refused():
    stamps = ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00.500Z", "2024-01-01T00:00:01Z"]
    with pytest.raises(TraceError, match=r"row 4: .* same second .* under 1 s are not supported"):
        read_trace(csv(stamps))
    with pytest.raises(TraceError, match="row 3: timestamps must increase by a whole number"):
        read_trace(csv(stamps), fill_gaps=False)


def test_milliseconds_of_scrape_jitter_are_rounded_to_the_grid_and_counted():
    start = np.datetime64("2024-01-01T00:00:00", "ms")
    jitter_ms = [0, 137, -402, 0, 95, 3] * 20
    stamps = [f"{start + np.timedelta64(i * 60_000 + j, 'ms')}Z" for i, j in enumerate(jitter_ms)]
    trace = read_trace(csv(stamps, [float(i) for i in range(120)]))
    assert (len(trace), trace.interval_s, trace.filled, trace.regridded) == (120, 60, 0, 80)
    assert trace.timestamps[2] == np.datetime64("2024-01-01T00:02:00")
    assert trace.values.tolist() == [float(i) for i in range(120)]


def test_whole_seconds_written_with_milliseconds_are_read_exactly():
    trace = read_trace(csv([t.replace(" ", "T") + ".000Z" for t in ROWS]))
    assert (trace.interval_s, trace.regridded) == (300, 0)


def test_jittered_rows_are_put_on_the_grid_and_counted():
    start = np.datetime64("2014-04-10T00:00:00")
    jitter = [0, 2, -1, 3, 0, 1] * 50
    stamps = [str(start + np.timedelta64(i * 300 + j, "s")) for i, j in enumerate(jitter)]
    content = csv(stamps, [float(i) for i in range(300)])
    trace = read_trace(content)
    assert (len(trace), trace.interval_s, trace.filled, trace.regridded) == (300, 300, 0, 200)
    assert trace.timestamps[3] == np.datetime64("2014-04-10T00:15:00")
    assert trace.values.tolist() == [float(i) for i in range(300)]
    with pytest.raises(TraceError, match="row 4: timestamp is irregular"):  # 302 s, then 297 s
        read_trace(content, fill_gaps=False)
