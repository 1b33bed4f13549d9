"""Read the cloud bill into cost lines: one per day, allocation tag value, usage type and option.

Three readers, one output (`CostLine`, summed per day, tag value, usage type and purchase
option):

- `read_cost_explorer`: AWS Cost Explorer's `GetCostAndUsage`, DAILY, grouped by the allocation
  tag and the USAGE_TYPE dimension, metric UnblendedCost (see `CE_METRIC` for why).
- `read_cur`: the files of an AWS Data Exports CUR 2.0 export (Parquet or gzip CSV), from S3
  (`S3Files`) or a local folder (`LocalFiles`), streamed by row batches.
- `read_opencost`: OpenCost's `/allocation` API, per day, aggregated by a Kubernetes label.

The tag value names a workload as `<team slug>/<workload name>`; `""` is a line without the tag.
Hostile input is expected (the bill is large and outside our control): NaN, infinite or
out-of-range amounts, missing columns, files that are not what their name says, files over
`MAX_FILE_BYTES`, windows over `MAX_WINDOW_DAYS` days, timestamps that are not UTC, rows outside
their billing period. Each raises `ValueError` naming the field and the file or response; a
reader never returns a partial result.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Protocol

# pyarrow ships no type information.
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

PURCHASE_OPTIONS = ("on_demand", "spot", "reserved", "savings_plan", "serverless", "other")
MAX_WINDOW_DAYS = 400  # a year and a month: enough for any restatement, small enough to hold
EARLIEST_DAY = date(2006, 1, 1)  # before AWS billed anything: an older day is a broken input
# The database column holds 14 digits, 6 after the point: |amount| < 1e8 USD, per line or summed.
MAX_AMOUNT_USD = Decimal("99999999")
MAX_FILE_BYTES = 2 * 1024**3  # one CUR data file; AWS splits an export into chunks well below
MAX_LINES = 500_000  # distinct (day, tag, usage type, option) keys in one read
MAX_PAGES = 1_000  # Cost Explorer pages in one read
MAX_TAG_CHARS, MAX_USAGE_TYPE_CHARS = 200, 128  # the BilledCost columns
ROW_BATCH = 65_536

# Unblended, not NetUnblended: it is the cost every line of the invoice carries before the
# account-level discounts (EDP, private pricing) that AWS applies to the whole bill, it exists for
# every account (NetUnblendedCost only means something where such discounts exist), and it is the
# same figure as CUR 2.0's line_item_unblended_cost, so a Cost Explorer source and a CUR source
# of one account give the same lines. Savings Plans show as the covered usage at the on-demand
# rate and a SavingsPlanNegation line under the same tag; the plan's fee is its own line.
CE_METRIC = "UnblendedCost"

# https://docs.aws.amazon.com/cur/latest/userguide/table-dictionary-cur2.html (its line item,
# pricing and resource tags pages) names these columns. resource_tags is a map whose keys are
# "user_" and the tag key with every character other than a letter or digit as "_".
CUR_COLUMNS = (
    "line_item_usage_start_date",
    "line_item_unblended_cost",
    "line_item_usage_type",
    "line_item_line_item_type",
    "resource_tags",
)
CUR_OPTIONAL_COLUMNS = ("pricing_term",)
CUR_SUFFIXES = (".parquet", ".csv.gz")
SAVINGS_PLAN_LINE_TYPES = {
    "SavingsPlanCoveredUsage",
    "SavingsPlanNegation",
    "SavingsPlanRecurringFee",
    "SavingsPlanUpfrontFee",
}
RESERVED_LINE_TYPES = {"DiscountedUsage", "RIFee"}

OPENCOST_USAGE_TYPE = "kubernetes"
OPENCOST_IDLE_USAGE_TYPE = "kubernetes:idle"
OPENCOST_UNLABELLED = ("__unallocated__", "__idle__")
MAX_RESPONSE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class CostLine:
    """What one day of one usage type under one tag value cost, at one purchase option."""

    day: date  # the usage day, UTC
    tag_value: str  # "<team slug>/<workload name>"; "" without the tag
    usage_type: str  # "USE1-SpotUsage:g4dn.xlarge", "kubernetes"
    purchase_option: str  # one of PURCHASE_OPTIONS
    amount_usd: Decimal

    def __post_init__(self) -> None:
        if self.purchase_option not in PURCHASE_OPTIONS:
            raise ValueError(f"purchase_option {self.purchase_option!r} is not one of ours")
        if not self.amount_usd.is_finite() or abs(self.amount_usd) > MAX_AMOUNT_USD:
            raise ValueError(f"amount_usd must be finite, within 1e8, got {self.amount_usd}")


def check_window(start: date, end: date) -> None:
    """Refuse a window [start, end) that is empty, reversed, ancient or over MAX_WINDOW_DAYS."""
    for name, day in (("start", start), ("end", end)):
        if isinstance(day, datetime) or not isinstance(day, date):
            raise ValueError(f"{name} must be a date, got {day!r}")
    if start < EARLIEST_DAY:
        raise ValueError(f"start {start} is before {EARLIEST_DAY}: no bill goes back that far")
    if not start < end:
        raise ValueError(f"start {start} must be before end {end}")
    if (end - start).days > MAX_WINDOW_DAYS:
        raise ValueError(f"window {start}..{end} is over {MAX_WINDOW_DAYS} days")


def purchase_option_of(usage_type: str, *, line_item_type: str = "", pricing_term: str = "") -> str:
    """The purchase option a line was bought at, from its line item type, term and usage type.

    A CUR line item type settles it when it names a commitment (SavingsPlanCoveredUsage,
    DiscountedUsage: usage a Reserved Instance covered); otherwise the usage type's words do,
    as Cost Explorer gives no more: SpotUsage, HeavyUsage (a Reserved Instance's hours),
    BoxUsage and SageMaker's instance hours (on-demand), Lambda and Fargate (serverless), a
    Savings Plan's own fee.
    """
    if line_item_type in SAVINGS_PLAN_LINE_TYPES:
        return "savings_plan"
    if line_item_type in RESERVED_LINE_TYPES:
        return "reserved"
    if pricing_term == "Spot" or "SpotUsage" in usage_type:
        return "spot"
    if "HeavyUsage" in usage_type:
        return "reserved"
    if "BoxUsage" in usage_type or "DedicatedUsage" in usage_type:
        return "on_demand"
    if re.search(r"(Host|Train|Processing|Notebk)[\w-]*:ml\.", usage_type):  # SageMaker
        return "on_demand"
    if "Lambda" in usage_type or "Fargate" in usage_type:
        return "serverless"
    if re.match(r"^(Compute|EC2|MachineLearning|Database)SP:", usage_type):
        return "savings_plan"
    return "other"


class _Sum:
    """Cost lines summed by key, refusing bad amounts and too many keys, naming `where`."""

    def __init__(self, start: date, end: date) -> None:
        self.start, self.end = start, end
        self.amounts: dict[tuple[date, str, str, str], Decimal] = {}

    def add(self, where: str, day: date, tag: str, usage_type: str, option: str, raw: Any) -> None:
        amount = _amount(raw, where)
        if len(tag) > MAX_TAG_CHARS:
            raise ValueError(f"{where}: tag value is over {MAX_TAG_CHARS} characters")
        if not usage_type or len(usage_type) > MAX_USAGE_TYPE_CHARS:
            raise ValueError(f"{where}: usage type {usage_type[:40]!r} is empty or too long")
        key = (day, tag, usage_type, option)
        if key not in self.amounts and len(self.amounts) >= MAX_LINES:
            raise ValueError(f"{where}: more than {MAX_LINES} distinct cost lines")
        total = self.amounts.get(key, Decimal(0)) + amount
        if abs(total) > MAX_AMOUNT_USD:
            raise ValueError(f"{where}: {usage_type} on {day} sums to {total} USD, over 1e8")
        self.amounts[key] = total

    def lines(self) -> list[CostLine]:
        quantum = Decimal("0.000001")
        return [
            CostLine(day, tag, usage_type, option, amount.quantize(quantum))
            for (day, tag, usage_type, option), amount in sorted(self.amounts.items())
        ]


def _amount(raw: Any, where: str) -> Decimal:
    """A finite amount within 1e8 USD, from a float, an int or a decimal string."""
    if isinstance(raw, bool) or raw is None:
        raise ValueError(f"{where}: cost {raw!r} is not a number")
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise ValueError(f"{where}: cost {raw!r} is not finite")
        raw = repr(raw)
    try:
        amount = Decimal(str(raw).strip())
    except ArithmeticError:
        raise ValueError(f"{where}: cost {str(raw)[:40]!r} is not a number") from None
    if not amount.is_finite() or abs(amount) > MAX_AMOUNT_USD:
        raise ValueError(f"{where}: cost {str(raw)[:40]!r} is not finite or over 1e8 USD")
    return amount


def _utc_day(value: Any, where: str) -> date:
    """The UTC day of a timestamp: a naive one is UTC (as CUR writes them), others must be UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{where}: {value[:40]!r} is not an ISO 8601 timestamp") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, datetime):
        raise ValueError(f"{where}: {value!r} is not a timestamp")
    if value.tzinfo is not None and value.utcoffset() != timedelta(0):
        raise ValueError(f"{where}: {value.isoformat()} is not UTC")
    return value.date()


# --- Cost Explorer ---------------------------------------------------------------------------


def read_cost_explorer(client: Any, *, start: date, end: date, tag_key: str) -> list[CostLine]:
    """Daily cost per tag value and usage type over [start, end), from `GetCostAndUsage`.

    `client` is a boto3 "ce" client. Pages are followed by NextPageToken. The tag's group key
    reads "<tag_key>$<value>", "<tag_key>$" for untagged cost. Amounts must be in USD.
    """
    check_window(start, end)
    request: dict[str, Any] = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": "DAILY",
        "Metrics": [CE_METRIC],
        "GroupBy": [
            {"Type": "TAG", "Key": tag_key},
            {"Type": "DIMENSION", "Key": "USAGE_TYPE"},
        ],
    }
    total = _Sum(start, end)
    for page_number in range(1, MAX_PAGES + 1):
        page = client.get_cost_and_usage(**request)
        for result in page.get("ResultsByTime") or []:
            _add_ce_result(total, result, tag_key, f"Cost Explorer page {page_number}")
        token = page.get("NextPageToken")
        if not token:
            return total.lines()
        request["NextPageToken"] = token
    raise ValueError(f"Cost Explorer: more than {MAX_PAGES} pages")


def _add_ce_result(total: _Sum, result: Mapping[str, Any], tag_key: str, where: str) -> None:
    day = _ce_day(result, where)
    if not total.start <= day < total.end:
        raise ValueError(f"{where}: TimePeriod.Start {day} is outside {total.start}..{total.end}")
    for group in result.get("Groups") or []:
        keys = group.get("Keys") or []
        if len(keys) != 2 or not all(isinstance(k, str) for k in keys):
            raise ValueError(f"{where}: group Keys {keys!r} are not [tag, usage type]")
        tag_group, usage_type = keys
        prefix = f"{tag_key}$"
        if not tag_group.startswith(prefix):
            raise ValueError(f"{where}: group key {tag_group[:60]!r} is not '{prefix}<value>'")
        metric = (group.get("Metrics") or {}).get(CE_METRIC) or {}
        if metric.get("Unit", "USD") != "USD":
            raise ValueError(f"{where}: {CE_METRIC} unit {metric.get('Unit')!r} is not USD")
        option = purchase_option_of(usage_type)
        total.add(where, day, tag_group[len(prefix) :], usage_type, option, metric.get("Amount"))


def _ce_day(result: Mapping[str, Any], where: str) -> date:
    raw = (result.get("TimePeriod") or {}).get("Start")
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ValueError(f"{where}: TimePeriod.Start {raw!r} is not a date") from None


# --- CUR 2.0 files ---------------------------------------------------------------------------


class CurFiles(Protocol):
    """Where an export's files are: S3 or a local folder."""

    def list(self, prefix: str) -> list[tuple[str, int]]:
        """Every (key, size in bytes) under `prefix`."""
        ...

    def open(self, key: str) -> IO[bytes]:
        """The file's bytes, as a readable binary stream."""
        ...


class S3Files:
    """An export's files in an S3 bucket, through a boto3 "s3" client."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client, self.bucket = client, bucket

    def list(self, prefix: str) -> list[tuple[str, int]]:
        """Every object under `prefix`, through list_objects_v2's pages."""
        paginator = self.client.get_paginator("list_objects_v2")
        return [
            (item["Key"], int(item["Size"]))
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for item in page.get("Contents") or []
        ]

    def open(self, key: str) -> IO[bytes]:
        """The object's streaming body."""
        body: IO[bytes] = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        return body


class LocalFiles:
    """An export's files copied to a local folder, keys relative to it (the demo's sample)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def list(self, prefix: str) -> list[tuple[str, int]]:
        """Every file under `prefix`."""
        folder = self._path(prefix)
        if not folder.is_dir():
            return []
        return [
            (path.relative_to(self.root).as_posix(), path.stat().st_size)
            for path in sorted(folder.rglob("*"))
            if path.is_file()
        ]

    def open(self, key: str) -> IO[bytes]:
        """The file, opened for reading."""
        return self._path(key).open("rb")

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"{key!r} is outside {self.root}")
        return path


def billing_periods(start: date, end: date) -> list[str]:
    """The CUR 2.0 partitions ("YYYY-MM") that hold the days of [start, end)."""
    check_window(start, end)
    months, month = [], start.replace(day=1)
    while month < end:
        months.append(f"{month:%Y-%m}")
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def read_cur(
    files: CurFiles,
    *,
    prefix: str,
    start: date,
    end: date,
    tag_key: str,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> list[CostLine]:
    """Cost per day, tag value, usage type and option over [start, end) from a CUR 2.0 export.

    `prefix` is the export's data folder (`<prefix>/<export-name>/data`); each billing period's
    files sit in `BILLING_PERIOD=YYYY-MM/` below it (the export delivered in "overwrite" mode:
    a period with files in subfolders, as "create new" leaves them, is refused). Files ending
    `.parquet` or `.csv.gz` are read; others (a README, an Athena table's metadata) are not.
    Rows of days outside the window are skipped; a row outside its file's billing period is an
    error. Amounts are line_item_unblended_cost, as for Cost Explorer (`CE_METRIC`).
    """
    check_window(start, end)
    total = _Sum(start, end)
    tag_keys = cur_tag_keys(tag_key)
    for period in billing_periods(start, end):
        folder = f"{prefix.strip('/')}/BILLING_PERIOD={period}/".lstrip("/")
        for key, size in files.list(folder):
            if "/" in key[len(folder) :]:
                raise ValueError(
                    f"{key}: files in subfolders of {folder} (set the export to "
                    "overwrite its files, not to create new ones)"
                )
            if not key.endswith(CUR_SUFFIXES):
                continue
            if size > max_file_bytes:
                raise ValueError(f"{key}: {size} bytes is over the {max_file_bytes} byte bound")
            with files.open(key) as stream:
                for batch in _cur_batches(key, stream, max_file_bytes):
                    _add_cur_batch(total, batch, key, period, tag_keys)
    return total.lines()


def cur_tag_column(tag_key: str) -> str:
    """The key AWS writes a cost allocation tag under in resource_tags: `user_ballast_workload`."""
    return "user_" + re.sub(r"[^0-9A-Za-z]", "_", tag_key)


def cur_tag_keys(tag_key: str) -> set[str]:
    """The keys a cost allocation tag may have in CUR 2.0's resource_tags map."""
    return {cur_tag_column(tag_key), f"user:{tag_key}"}


def _cur_batches(key: str, stream: IO[bytes], max_bytes: int) -> Iterator[pa.RecordBatch]:
    try:
        if key.endswith(".parquet"):
            yield from _parquet_batches(stream, max_bytes)
        else:
            yield from _csv_batches(stream)
    except (pa.ArrowException, OSError, EOFError, zlib.error, UnicodeError) as exc:
        raise ValueError(f"{key}: not a readable CUR file: {str(exc)[:200]}") from None


def _parquet_batches(stream: IO[bytes], max_bytes: int) -> Iterator[pa.RecordBatch]:
    # Parquet's footer is at the end: spool the (bounded) object to seek in it, in memory up
    # to 64 MiB, then on disk.
    with tempfile.SpooledTemporaryFile(max_size=64 * 1024**2) as spool:
        copied = 0
        while chunk := stream.read(1024**2):
            copied += len(chunk)
            if copied > max_bytes:
                raise OSError(f"over the {max_bytes} byte bound")
            spool.write(chunk)
        spool.seek(0)
        parquet = pq.ParquetFile(spool)
        names = set(parquet.schema_arrow.names)
        columns = [c for c in (*CUR_COLUMNS, *CUR_OPTIONAL_COLUMNS) if c in names]
        yield from parquet.iter_batches(batch_size=ROW_BATCH, columns=columns)


def _csv_batches(stream: IO[bytes]) -> Iterator[pa.RecordBatch]:
    text_columns = {c: pa.string() for c in (*CUR_COLUMNS, *CUR_OPTIONAL_COLUMNS)}
    text_columns["line_item_unblended_cost"] = pa.float64()
    reader = pa_csv.open_csv(
        gzip.GzipFile(fileobj=stream),
        read_options=pa_csv.ReadOptions(block_size=8 * 1024**2),
        convert_options=pa_csv.ConvertOptions(column_types=text_columns, strings_can_be_null=False),
    )
    yield from reader


def _add_cur_batch(
    total: _Sum, batch: pa.RecordBatch, key: str, period: str, tag_keys: set[str]
) -> None:
    """Add a batch's lines of the window, summed inside Arrow first (a file has millions).

    Day and tag are worked out once per distinct value (a month has at most 744 hours and few
    distinct tag sets), then the rows are grouped by day, tag, usage type, line item type and
    term, so Python sees one row per group, not per line item.
    """
    names = set(batch.schema.names)
    missing = [c for c in CUR_COLUMNS if c not in names]
    if missing:
        raise ValueError(f"{key}: missing CUR 2.0 column(s) {', '.join(missing)}")
    days = _per_distinct(
        batch.column("line_item_usage_start_date"),
        lambda value: _utc_day(value, f"{key}: line_item_usage_start_date"),
        pa.date32(),
    )
    first, last = pc.min(days).as_py(), pc.max(days).as_py()
    for day in (first, last):
        if day is not None and f"{day:%Y-%m}" != period:
            raise ValueError(f"{key}: a line of {day} in billing period {period}")
    cost = _checked_costs(batch.column("line_item_unblended_cost"), key)
    text = {
        name: pc.fill_null(batch.column(name).cast(pa.string()), "")
        if name in names
        else pa.array([""] * batch.num_rows, pa.string())
        for name in ("line_item_usage_type", "line_item_line_item_type", "pricing_term")
    }
    table = pa.table(
        {
            "day": days,
            "tag": _tag_values(batch.column("resource_tags"), tag_keys, key),
            "usage": text["line_item_usage_type"],
            "line": text["line_item_line_item_type"],
            "term": text["pricing_term"],
            "cost": cost,
        }
    )
    in_window = pc.and_(
        pc.greater_equal(days, pa.scalar(total.start, pa.date32())),
        pc.less(days, pa.scalar(total.end, pa.date32())),
    )
    groups = table.filter(in_window).group_by(["day", "tag", "usage", "line", "term"])
    for row in groups.aggregate([("cost", "sum")]).to_pylist():
        usage_type = row["usage"] or row["line"]
        option = purchase_option_of(
            usage_type, line_item_type=row["line"], pricing_term=row["term"]
        )
        where = f"{key}: line_item_unblended_cost"
        total.add(where, row["day"], row["tag"], usage_type, option, row["cost_sum"])


def _per_distinct(column: pa.Array, convert: Callable[[Any], Any], kind: pa.DataType) -> pa.Array:
    """`convert` applied to each distinct value of `column` once, spread back over its rows."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    distinct = pc.unique(column)
    converted = pa.array([convert(value) for value in distinct.to_pylist()], kind)
    return converted.take(pc.index_in(column, value_set=distinct))


def _checked_costs(column: pa.Array, key: str) -> pa.Array:
    """The costs as float64, refused whole if one is missing, not finite or over 1e8 USD."""
    where = f"{key}: line_item_unblended_cost"
    try:
        cost = column.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise ValueError(f"{where}: a cost is not a number") from None
    if cost.null_count:
        raise ValueError(f"{where}: cost None is not a number")
    if len(cost) and not pc.all(pc.is_finite(cost)).as_py():
        raise ValueError(f"{where}: a cost is not finite (NaN or infinite)")
    if len(cost) and pc.max(pc.abs(cost)).as_py() > float(MAX_AMOUNT_USD):
        raise ValueError(f"{where}: a cost is over 1e8 USD")
    return cost


def _tag_values(column: pa.Array, tag_keys: set[str], key: str) -> pa.Array:
    """The allocation tag's value per row ("" untagged): from a map, or from JSON text."""
    if pa.types.is_map(column.type):
        found = [pc.map_lookup(column, name, "first") for name in sorted(tag_keys)]
        value = found[0] if len(found) == 1 else pc.coalesce(*found)
        return pc.utf8_trim_whitespace(pc.fill_null(value.cast(pa.string()), ""))
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return _per_distinct(column, lambda tags: _cur_tag(tags, tag_keys, key), pa.string())
    raise ValueError(f"{key}: resource_tags is a {column.type}, not a map or JSON text")


def _cur_tag(tags: Any, tag_keys: set[str], key: str) -> str:
    """The allocation tag's value from resource_tags: a map (Parquet) or a JSON object (CSV)."""
    if tags is None or tags == "":
        return ""
    if isinstance(tags, str):
        try:
            tags = json.loads(tags)
        except json.JSONDecodeError:
            raise ValueError(f"{key}: resource_tags {tags[:40]!r} is not a JSON object") from None
    if isinstance(tags, list):  # pyarrow gives a map as a list of (key, value) pairs
        tags = dict(tags)
    if not isinstance(tags, dict):
        raise ValueError(f"{key}: resource_tags is not a map")
    for name in tag_keys:
        value = tags.get(name)
        if value is not None:
            return str(value).strip()
    return ""


# --- OpenCost --------------------------------------------------------------------------------


def read_opencost(
    url: str,
    *,
    start: date,
    end: date,
    label: str,
    timeout_s: float = 30.0,
    urlopen: Callable[..., Any] = urllib.request.urlopen,
) -> list[CostLine]:
    """Daily Kubernetes cost per workload label over [start, end), from OpenCost's /allocation.

    Asks `GET <url>/allocation?window=<start>,<end>&aggregate=label:<label>&step=1d&
    accumulate=false` (https://opencost.io/docs/integrations/api): one allocation set a day,
    each allocation named by the label's value, with its `totalCost` and `window`. Kubernetes
    label values cannot hold "/", so a workload is labelled `<team slug>.<workload name>`
    (slugs hold no dots) and read back as `<team slug>/<workload name>`. `__unallocated__`
    (pods without the label) and `__idle__` (capacity no pod asked for) are untagged lines.
    Prices are OpenCost's (list prices unless it reads the bill), so the option is "other".
    """
    check_window(start, end)
    window = f"{start.isoformat()}T00:00:00Z,{end.isoformat()}T00:00:00Z"
    query = urllib.parse.urlencode(
        {"window": window, "aggregate": f"label:{label}", "step": "1d", "accumulate": "false"}
    )
    where = "OpenCost /allocation"
    try:
        with urlopen(f"{url.rstrip('/')}/allocation?{query}", timeout=timeout_s) as response:
            body = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise ValueError(f"{where}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ValueError(f"{where}: no answer ({exc})") from None
    if len(body) > MAX_RESPONSE_BYTES:
        raise ValueError(f"{where}: answer over {MAX_RESPONSE_BYTES} bytes")
    return parse_opencost_allocation(body, start=start, end=end)


def parse_opencost_allocation(body: bytes, *, start: date, end: date) -> list[CostLine]:
    """Cost lines from an /allocation answer of daily sets (`read_opencost`)."""
    where = "OpenCost /allocation"
    try:
        answer = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(f"{where}: the answer is not JSON") from None
    if not isinstance(answer, dict) or answer.get("code") != 200:
        code = answer.get("code") if isinstance(answer, dict) else None
        raise ValueError(f"{where}: code {code!r}, not 200")
    sets = answer.get("data")
    if not isinstance(sets, list) or not all(isinstance(s, dict) for s in sets):
        raise ValueError(f"{where}: data is not a list of allocation sets")
    total = _Sum(start, end)
    for allocations in sets:
        for name, allocation in allocations.items():
            _add_allocation(total, str(name), allocation, f"{where}: {str(name)[:60]}")
    return total.lines()


def _add_allocation(total: _Sum, name: str, allocation: Any, where: str) -> None:
    if not isinstance(allocation, dict):
        raise ValueError(f"{where}: the allocation is not an object")
    window = allocation.get("window") or {}
    day = _utc_day(window.get("start", allocation.get("start")), f"{where}: window.start")
    if not total.start <= day < total.end:
        raise ValueError(f"{where}: window.start {day} is outside {total.start}..{total.end}")
    usage_type = OPENCOST_IDLE_USAGE_TYPE if name == "__idle__" else OPENCOST_USAGE_TYPE
    tag = "" if name in OPENCOST_UNLABELLED else _workload_label(name)
    total.add(f"{where}: totalCost", day, tag, usage_type, "other", allocation.get("totalCost"))


def _workload_label(value: str) -> str:
    """`team.workload` (a Kubernetes label value) as `team/workload`; other values as they are."""
    return value if "/" in value else value.replace(".", "/", 1)


def lines_total_usd(lines: Iterable[CostLine]) -> Decimal:
    """The sum of the lines' amounts."""
    return sum((line.amount_usd for line in lines), Decimal(0))
