"""Read and validate trace CSV files (`timestamp,value` at a regular interval)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from forecasting.base import SeriesError
from forecasting.bounds import EARLIEST_S, LATEST_S, MAX_VALUE
from forecasting.history import grid_slots, regularize, whole_seconds

if TYPE_CHECKING:
    import pandas as pd

# pandas (100 MB with pyarrow) loads when a file is first read, not with this module: the web
# process imports it for `TraceError` and serves most pages without reading a trace.

HEADER = ("timestamp", "value")


class TraceError(ValueError):
    """A trace file that breaks the format; the message names the row and the problem."""


@dataclass(frozen=True)
class Trace:
    """A regular series: `timestamps` as UTC datetime64[ns] (n,), `values` as float64 (n,)."""

    timestamps: np.ndarray
    values: np.ndarray
    interval_s: int
    name: str = ""
    filled_at: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Indices of the rows filled by linear interpolation (`fill_gaps`), not read from the file."""
    regridded: int = 0
    """Rows of the file that were off the regular grid: moved to it, averaged where they met."""

    def __len__(self) -> int:
        return len(self.values)

    @property
    def filled(self) -> int:
        """How many missing intervals were filled."""
        return len(self.filled_at)

    def observed(self) -> tuple[np.ndarray, np.ndarray]:
        """(timestamps, values) of the rows the file had, the filled ones left out."""
        keep = np.ones(len(self), dtype=bool)
        keep[self.filled_at] = False
        return self.timestamps[keep], self.values[keep]

    @property
    def duration_h(self) -> float:
        """Hours covered by the trace, counting the last interval in full."""
        return len(self) * self.interval_s / 3600


def read_trace(
    source: str | Path | bytes | io.IOBase, *, name: str = "", fill_gaps: bool = True
) -> Trace:
    """Parse a trace CSV from a path, raw bytes or an open file.

    The file must have the header `timestamp,value`, ISO-8601 timestamps from 1970-01-01 to
    before 2100-01-01 UTC in strictly increasing order, a second or more apart (whole seconds
    apart with `fill_gaps=False`), and finite values >= 0 and below 1e12
    (`forecasting.bounds`). Timestamps with a time zone (or a
    trailing Z) are converted to UTC; a file whose timestamps all lack one is read as UTC (as many
    monitoring exports write them); a file mixing both is refused.

    Rows are put on their regular grid as stored metrics are (`forecasting.history.regularize`):
    jittered or irregular timestamps go to the grid of the median step (`regridded` counts the
    rows moved or averaged there; timestamps with fractions of a second, as scrapers write them,
    count as moved), and a few missing intervals are filled by linear
    interpolation (at most 5 % of the intervals, no gap over 1 % of them or 3 intervals;
    `filled_at` says which). Longer holes are refused before any grid is built (so are grids
    over `forecasting.bounds.MAX_GRID_SLOTS` intervals), and so is any missing or off-grid row
    with `fill_gaps=False` (every caller that reads a file for use fills; the strict reading is
    for checking a file is complete).

    Raises:
        TraceError: naming the first offending row (1-based, counting the header as row 1).
    """
    import pandas as pd

    if isinstance(source, bytes):
        source = io.BytesIO(source)
    if isinstance(source, Path | str):
        name = name or Path(source).name
    try:
        frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise TraceError(f"not a readable CSV file: {exc}") from exc
    if tuple(frame.columns) != HEADER:
        raise TraceError(
            f"header must be 'timestamp,value', got {','.join(map(str, frame.columns))!r}"
        )
    if frame.empty:
        raise TraceError("the trace has no rows")
    timestamps = _parse_timestamps(frame["timestamp"])
    values = _parse_values(frame["value"])
    if fill_gaps:
        return _filled_trace(timestamps, values, name)
    interval_s = _regular_interval_s(timestamps)
    return Trace(timestamps=timestamps, values=values, interval_s=interval_s, name=name)


def _filled_trace(timestamps: np.ndarray, values: np.ndarray, name: str) -> Trace:
    epoch_s, moved = _rounded_to_seconds(timestamps)
    try:
        series = regularize(epoch_s, values, moved)
    except SeriesError as exc:
        raise TraceError(str(exc)) from exc
    grid = series.start_s + series.interval_s * np.arange(len(series.values), dtype=np.int64)
    read = np.zeros(len(grid), dtype=bool)
    read[grid_slots(epoch_s)[1]] = True
    return Trace(
        timestamps=grid.astype("datetime64[s]").astype("datetime64[ns]"),
        values=series.values,
        interval_s=series.interval_s,
        name=name,
        filled_at=np.flatnonzero(~read),
        regridded=series.regridded,
    )


def _parse_timestamps(column: pd.Series) -> np.ndarray:
    import pandas as pd

    parsed = pd.to_datetime(column, utc=True, format="ISO8601", errors="coerce")
    bad = parsed.isna()
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        hint = " (epoch numbers are not read: write 2024-01-01T00:00:00Z)"
        numeric = column.iloc[row].strip().replace(".", "", 1).isdigit()
        raise TraceError(
            f"row {row + 2}: timestamp {column.iloc[row]!r} is not ISO-8601" + (hint * numeric)
        )
    seconds = parsed.dt.tz_localize(None).to_numpy().astype("datetime64[s]").astype(np.int64)
    out = (seconds < EARLIEST_S) | (seconds >= LATEST_S)
    if out.any():  # before the nanosecond conversion below, which would wrap them silently
        row = int(np.argmax(out))
        raise TraceError(
            f"row {row + 2}: timestamp {column.iloc[row]!r} is outside the accepted range: from "
            "1970-01-01T00:00:00Z to before 2100-01-01T00:00:00Z"
        )
    naive = ~column.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).to_numpy()
    if naive.any() and not naive.all():
        row = int(np.argmax(naive != naive[0]))
        zone = "has no time zone" if naive[row] else "has a time zone"
        raise TraceError(
            f"row {row + 2}: timestamp {column.iloc[row]!r} {zone}, unlike row 2: "
            "give every timestamp a zone (or Z), or none (read as UTC)"
        )
    stamps: np.ndarray = parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    return stamps


def _parse_values(column: pd.Series) -> np.ndarray:
    import pandas as pd

    values: np.ndarray = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0) | (values >= MAX_VALUE)
    if bad.any():
        row = int(np.argmax(bad))
        raise TraceError(
            f"row {row + 2}: value {column.iloc[row][:40]!r} is not a finite number >= 0 "
            f"and below {MAX_VALUE:g}"
        )
    return values


def _rounded_to_seconds(timestamps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`whole_seconds` of the rows; rows that round to the same second are refused."""
    _check_order(timestamps)
    epoch_ns = timestamps.astype("datetime64[ns]").astype(np.int64)
    epoch_s, moved = whole_seconds(epoch_ns)
    close = np.flatnonzero(np.diff(epoch_s) <= 0)
    if len(close):
        row = int(close[0])
        step = (epoch_ns[row + 1] - epoch_ns[row]) / 1e9
        raise TraceError(
            f"row {row + 3}: timestamp rounds to the same second as the row before ({step:g}s "
            "apart); intervals under 1 s are not supported: sum the values over 1 s or more"
        )
    return epoch_s, moved


def _check_order(timestamps: np.ndarray) -> np.ndarray:
    """Milliseconds between consecutive rows, (n - 1,); refuses disorder and a single row."""
    if len(timestamps) < 2:
        raise TraceError("the trace needs at least 2 rows to have an interval")
    steps_ms = np.diff(timestamps).astype("timedelta64[ms]").astype(np.int64)
    back = np.flatnonzero(steps_ms <= 0)
    if len(back):
        row = int(back[0])
        raise TraceError(
            f"row {row + 3}: timestamp is out of order or repeated: step {steps_ms[row] / 1000:g}s"
        )
    return steps_ms


def _steps_s(timestamps: np.ndarray) -> np.ndarray:
    """Whole seconds between consecutive rows, (n - 1,); refuses disorder and sub-second steps."""
    steps_ms = _check_order(timestamps)
    split = np.flatnonzero(steps_ms % 1000)
    if len(split):
        row = int(split[0])
        raise TraceError(
            f"row {row + 3}: timestamps must increase by a whole number of seconds, "
            f"got {steps_ms[row] / 1000:g}s"
        )
    return steps_ms // 1000


def _regular_interval_s(timestamps: np.ndarray) -> int:
    steps_s = _steps_s(timestamps)
    interval_s = int(steps_s[0])
    off = np.flatnonzero(steps_s != interval_s)
    if len(off):
        row = int(off[0])
        raise TraceError(
            f"row {row + 3}: timestamp is irregular (a gap or an extra row): "
            f"step {steps_s[row]}s, expected {interval_s}s"
        )
    return interval_s
