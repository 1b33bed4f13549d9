"""The bill readers over HTTP: Cost Explorer and CUR 2.0 files in S3, both on moto's server.

moto's Cost Explorer answers GetCostAndUsage from a queue of results the test posts to
/moto-api/static/ce/cost-and-usage-results (moto/ce/models.py); a request whose body differs
(the next page's token) takes the next result, so paging is exercised over the wire. The CUR
files are real Parquet and gzip CSV files written with pyarrow, uploaded to moto's S3.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import urllib.request
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sources.billing import (
    CostLine,
    S3Files,
    billing_periods,
    check_window,
    purchase_option_of,
    read_cost_explorer,
    read_cur,
)

TAG = "ballast:workload"
PREFIX = "cur/ballast-export/data"


def queue_ce_results(moto_server: str, results: list[dict]) -> None:
    request = urllib.request.Request(
        f"{moto_server}/moto-api/static/ce/cost-and-usage-results",
        data=json.dumps({"results": results}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


def ce_day(day: str, groups: list[tuple[str, str, str]]) -> dict:
    return {
        "TimePeriod": {"Start": day, "End": day},
        "Total": {},
        "Groups": [
            {"Keys": [tag, usage], "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}}
            for tag, usage, amount in groups
        ],
        "Estimated": False,
    }


def test_cost_explorer_lines_follow_pages_and_split_the_tag(aws, moto_server):
    queue_ce_results(
        moto_server,
        [
            {
                "ResultsByTime": [
                    ce_day(
                        "2026-11-02",
                        [
                            (f"{TAG}$ml-platform/ranker", "USE1-SpotUsage:g4dn.xlarge", "10.5"),
                            (f"{TAG}$", "USE1-NatGateway-Hours", "1.08"),
                        ],
                    )
                ],
                "NextPageToken": "page-2",
            },
            {
                "ResultsByTime": [
                    ce_day(
                        "2026-11-03",
                        [(f"{TAG}$ml-platform/ranker", "USE1-Lambda-GB-Second", "0.25")],
                    )
                ]
            },
        ],
    )
    lines = read_cost_explorer(
        aws("ce"), start=date(2026, 11, 2), end=date(2026, 11, 4), tag_key=TAG
    )
    assert lines == [
        CostLine(date(2026, 11, 2), "", "USE1-NatGateway-Hours", "other", Decimal("1.08")),
        CostLine(
            date(2026, 11, 2),
            "ml-platform/ranker",
            "USE1-SpotUsage:g4dn.xlarge",
            "spot",
            Decimal("10.5"),
        ),
        CostLine(
            date(2026, 11, 3),
            "ml-platform/ranker",
            "USE1-Lambda-GB-Second",
            "serverless",
            Decimal("0.25"),
        ),
    ]


@pytest.mark.parametrize(
    ("amount", "message"),
    [("NaN", "not finite"), ("Infinity", "not finite"), ("-1e12", "over 1e8"), ("ten", "number")],
)
def test_cost_explorer_refuses_a_bad_amount(aws, moto_server, amount, message):
    queue_ce_results(
        moto_server,
        [
            {
                "ResultsByTime": [
                    ce_day("2026-11-02", [(f"{TAG}$a/b", "USE1-BoxUsage:m5.large", amount)])
                ]
            }
        ],
    )
    with pytest.raises(ValueError, match=message):
        read_cost_explorer(aws("ce"), start=date(2026, 11, 2), end=date(2026, 11, 3), tag_key=TAG)


def test_cost_explorer_refuses_a_group_of_another_tag(aws, moto_server):
    queue_ce_results(
        moto_server,
        [{"ResultsByTime": [ce_day("2026-11-02", [("team$x", "USE1-BoxUsage:m5.large", "1")])]}],
    )
    with pytest.raises(ValueError, match="is not 'ballast:workload\\$<value>'"):
        read_cost_explorer(aws("ce"), start=date(2026, 11, 2), end=date(2026, 11, 3), tag_key=TAG)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (date(2026, 1, 1), date(2027, 3, 1), "over 400 days"),
        (date(2026, 11, 3), date(2026, 11, 3), "must be before"),
        (date(1970, 1, 1), date(1970, 1, 2), "no bill goes back"),
        (datetime(2026, 11, 1, tzinfo=UTC), date(2026, 11, 3), "must be a date"),
    ],
)
def test_windows_that_are_empty_ancient_or_too_long_are_refused(start, end, message):
    with pytest.raises(ValueError, match=message):
        check_window(start, end)


def test_billing_periods_cover_the_window():
    assert billing_periods(date(2026, 11, 20), date(2027, 1, 2)) == [
        "2026-11",
        "2026-12",
        "2027-01",
    ]
    assert billing_periods(date(2026, 11, 1), date(2026, 12, 1)) == ["2026-11"]


@pytest.mark.parametrize(
    ("usage_type", "line_item_type", "term", "option"),
    [
        ("USE1-SpotUsage:g4dn.xlarge", "Usage", "", "spot"),
        ("USE1-BoxUsage:c6i.xlarge", "Usage", "OnDemand", "on_demand"),
        ("USE1-BoxUsage:c6i.xlarge", "SavingsPlanCoveredUsage", "", "savings_plan"),
        ("USE1-BoxUsage:c6i.xlarge", "DiscountedUsage", "Reserved", "reserved"),
        ("USE1-HeavyUsage:m5.large", "RIFee", "", "reserved"),
        ("USE1-Lambda-GB-Second", "Usage", "", "serverless"),
        ("ComputeSP:1yrNoUpfront", "SavingsPlanRecurringFee", "", "savings_plan"),
        ("USE1-Host:ml.g5.2xlarge", "Usage", "OnDemand", "on_demand"),
        ("USE1-NatGateway-Hours", "Usage", "", "other"),
    ],
)
def test_purchase_option_comes_from_the_line_item_type_then_the_usage_type(
    usage_type, line_item_type, term, option
):
    assert (
        purchase_option_of(usage_type, line_item_type=line_item_type, pricing_term=term) == option
    )


# --- CUR 2.0 ---------------------------------------------------------------------------------

RANKER = {"user_ballast_workload": "ml-platform/ranker"}
IMAGES = {"user_ballast_workload": "creative/image-gen", "user_env": "prod"}
SPOT, BOX, NAT = "USE1-SpotUsage:g4dn.xlarge", "USE1-BoxUsage:c6i.xlarge", "USE1-NatGateway-Hours"
HOST = "USE1-Host:ml.g5.2xlarge"
ROWS = [
    # start, cost, usage type, line item type, tags, pricing_term
    ("2026-11-02T00:00:00Z", 0.21, SPOT, "Usage", RANKER, "Spot"),
    ("2026-11-02T05:00:00Z", 0.21, SPOT, "Usage", RANKER, "Spot"),
    ("2026-11-02T00:00:00Z", 0.17, BOX, "SavingsPlanCoveredUsage", RANKER, "OnDemand"),
    ("2026-11-02T00:00:00Z", -0.05, BOX, "SavingsPlanNegation", RANKER, ""),
    ("2026-11-02T00:00:00Z", 0.045, NAT, "Usage", {}, "OnDemand"),
    ("2026-11-03T00:00:00Z", 1.515, HOST, "Usage", IMAGES, "OnDemand"),
    ("2026-11-09T00:00:00Z", 99.0, BOX, "Usage", {}, "OnDemand"),  # outside the window
]
EXPECTED = [
    CostLine(date(2026, 11, 2), "", NAT, "other", Decimal("0.045")),
    CostLine(date(2026, 11, 2), "ml-platform/ranker", BOX, "savings_plan", Decimal("0.12")),
    CostLine(date(2026, 11, 2), "ml-platform/ranker", SPOT, "spot", Decimal("0.42")),
    CostLine(date(2026, 11, 3), "creative/image-gen", HOST, "on_demand", Decimal("1.515")),
]
COLUMNS = (
    "identity_line_item_id",
    "line_item_usage_start_date",
    "line_item_unblended_cost",
    "line_item_usage_type",
    "line_item_line_item_type",
    "resource_tags",
    "pricing_term",
)


def first_row(start: str = ROWS[0][0], cost: float = ROWS[0][1]) -> list[tuple]:
    return [(start, cost, *ROWS[0][2:])]


def parquet_bytes(rows, *, tz="UTC", drop: str = "") -> bytes:
    starts = [datetime.fromisoformat(r[0]) for r in rows]
    columns = {
        "identity_line_item_id": pa.array([f"id-{i}" for i in range(len(rows))]),
        "line_item_usage_start_date": pa.array(starts, pa.timestamp("ms", tz=tz)),
        "line_item_unblended_cost": pa.array([r[1] for r in rows], pa.float64()),
        "line_item_usage_type": pa.array([r[2] for r in rows]),
        "line_item_line_item_type": pa.array([r[3] for r in rows]),
        "resource_tags": pa.array(
            [list(r[4].items()) for r in rows], pa.map_(pa.string(), pa.string())
        ),
        "pricing_term": pa.array([r[5] for r in rows]),
    }
    columns.pop(drop, None)
    out = io.BytesIO()
    pq.write_table(pa.table(columns), out, row_group_size=3)  # several batches
    return out.getvalue()


def csv_gz_bytes(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for i, (start, cost, usage_type, line_type, tags, term) in enumerate(rows):
        writer.writerow(
            [f"id-{i}", start, repr(cost), usage_type, line_type, json.dumps(tags), term]
        )
    return gzip.compress(out.getvalue().encode())


@pytest.fixture
def bucket(aws):
    s3 = aws("s3")
    s3.create_bucket(Bucket="bill")

    def put(key: str, body: bytes) -> None:
        s3.put_object(Bucket="bill", Key=f"{PREFIX}/{key}", Body=body)

    put.files = S3Files(s3, "bill")
    return put


def read(files, **kwargs):
    window = {"start": date(2026, 11, 2), "end": date(2026, 11, 4)}
    return read_cur(files, prefix=PREFIX, **{"tag_key": TAG, **window, **kwargs})


def test_cur_parquet_lines_are_summed_per_day_tag_usage_type_and_option(bucket):
    bucket("BILLING_PERIOD=2026-11/ballast-export-00001.snappy.parquet", parquet_bytes(ROWS))
    bucket("BILLING_PERIOD=2026-10/ballast-export-00001.snappy.parquet", b"not read")
    assert read(bucket.files) == EXPECTED


def test_cur_gzip_csv_gives_the_same_lines_as_parquet(bucket):
    bucket("BILLING_PERIOD=2026-11/ballast-export-00001.csv.gz", csv_gz_bytes(ROWS))
    assert read(bucket.files) == EXPECTED


def test_cur_files_of_one_period_add_up(bucket):
    bucket("BILLING_PERIOD=2026-11/ballast-export-00001.snappy.parquet", parquet_bytes(ROWS[:3]))
    bucket("BILLING_PERIOD=2026-11/ballast-export-00002.csv.gz", csv_gz_bytes(ROWS[3:]))
    bucket("BILLING_PERIOD=2026-11/README.txt", b"ignored: not a data file")
    assert read(bucket.files) == EXPECTED


def test_cur_window_across_months_reads_each_billing_period(bucket):
    december = [("2026-12-01T00:00:00Z", 2.0, "USE1-BoxUsage:m5.large", "Usage", {}, "OnDemand")]
    bucket("BILLING_PERIOD=2026-11/a.snappy.parquet", parquet_bytes(ROWS))
    bucket("BILLING_PERIOD=2026-12/a.snappy.parquet", parquet_bytes(december))
    lines = read(bucket.files, start=date(2026, 11, 30), end=date(2026, 12, 2))
    assert lines == [
        CostLine(date(2026, 12, 1), "", "USE1-BoxUsage:m5.large", "on_demand", Decimal("2"))
    ]


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("junk.snappy.parquet", b"\x00\xffPAR1 not really" * 10, "not a readable CUR file"),
        ("junk.csv.gz", b"\x1f\x8b\x08\x00 broken gzip", "not a readable CUR file"),
        (
            "nocost.snappy.parquet",
            parquet_bytes(ROWS, drop="line_item_unblended_cost"),
            "missing CUR 2.0 column",
        ),
        ("paris.snappy.parquet", parquet_bytes(ROWS[:1], tz="Europe/Paris"), "is not UTC"),
        ("nan.snappy.parquet", parquet_bytes(first_row(cost=float("nan"))), "not finite"),
        ("inf.csv.gz", csv_gz_bytes(first_row(cost=float("inf"))), "not finite"),
        ("huge.snappy.parquet", parquet_bytes(first_row(cost=-1e15)), "over 1e8"),
        (
            "ancient.snappy.parquet",
            parquet_bytes(first_row(start="1901-01-01T00:00:00Z")),
            "in billing period 2026-11",
        ),
    ],
)
def test_cur_refuses_hostile_files_naming_them_and_returns_nothing(bucket, name, body, message):
    bucket("BILLING_PERIOD=2026-11/good.snappy.parquet", parquet_bytes(ROWS))
    bucket(f"BILLING_PERIOD=2026-11/{name}", body)
    with pytest.raises(ValueError, match=message) as refused:
        read(bucket.files)
    assert name in str(refused.value)


def test_cur_refuses_a_file_over_the_size_bound_before_reading_it(bucket):
    body = parquet_bytes(ROWS)
    bucket("BILLING_PERIOD=2026-11/big.snappy.parquet", body)
    with pytest.raises(ValueError, match="big.snappy.parquet: .* over the 100 byte bound"):
        read(bucket.files, max_file_bytes=100)


def test_cur_refuses_an_export_that_creates_new_folders(bucket):
    bucket("BILLING_PERIOD=2026-11/20261103T0000/a.snappy.parquet", parquet_bytes(ROWS))
    with pytest.raises(ValueError, match="overwrite"):
        read(bucket.files)


def test_cur_tag_is_found_under_the_key_aws_writes(bucket):
    rows = [(*ROWS[0][:4], {"user_ballast_workload": "creative/image-gen"}, "Spot")]
    bucket("BILLING_PERIOD=2026-11/a.snappy.parquet", parquet_bytes(rows))
    assert [line.tag_value for line in read(bucket.files)] == ["creative/image-gen"]
    other_tag = read(bucket.files, tag_key="team")
    assert [line.tag_value for line in other_tag] == [""]
