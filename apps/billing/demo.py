"""The demo's bill: a CUR 2.0 sample for the demo workloads, read like any export.

`seed_demo_billing` writes a gzip CSV export with CUR 2.0's column names for the last
`DEMO_DAYS` days under BALLAST_VAR_DIR/billing/demo-cur/BILLING_PERIOD=YYYY-MM/, registers it as
the billing source "demo-cur-sample" (a local folder, no AWS) and pulls it through the same
reader and service as a real export. The figures are a sample, not anyone's bill: each line is a
list price (us-east-1, late 2026) times the hours the demo workloads could run, with a weekly
swing, and the source's name says so.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings

from apps.billing import services
from apps.billing.models import DEFAULT_TAG_KEY, BillingSource
from sources import billing
from sources.billing import cur_tag_column

DEMO_SOURCE = "demo-cur-sample"
DEMO_FOLDER = "demo-cur"
DEMO_DAYS = 30
# The columns the reader needs, after a line item id as an export has one.
CUR_COLUMNS = ("identity_line_item_id", *billing.CUR_COLUMNS, *billing.CUR_OPTIONAL_COLUMNS)


@dataclass(frozen=True, slots=True)
class CurRow:
    """One CUR 2.0 line item, with the columns Ballast reads."""

    day: date
    cost_usd: float
    usage_type: str
    line_item_type: str = "Usage"
    tag_value: str = ""  # the ballast:workload tag's value; "" untagged
    pricing_term: str = "OnDemand"


# tag value, usage type, line item type, pricing term, USD a day before the weekly swing
DEMO_USAGE = [
    ("ml-platform/ranker", "USE1-SpotUsage:g4dn.xlarge", "Usage", "Spot", 2 * 24 * 0.2104),
    ("ml-platform/ranker", "USE1-BoxUsage:c6i.xlarge", "Usage", "OnDemand", 24 * 0.17),
    ("ml-platform/ranker", "USE1-Lambda-GB-Second", "Usage", "OnDemand", 1.85),
    ("ml-platform/embedding-refresh", "USE1-SpotUsage:g4dn.xlarge", "Usage", "Spot", 6 * 0.2104),
    ("creative/image-gen", "USE1-Host:ml.g5.2xlarge", "Usage", "OnDemand", 24 * 1.515),
    ("ml-platform/retired-ranker", "USE1-BoxUsage:m5.large", "Usage", "OnDemand", 24 * 0.096),
    ("", "USE1-NatGateway-Hours", "Usage", "OnDemand", 2 * 24 * 0.045),
    ("", "ComputeSP:1yrNoUpfront", "SavingsPlanRecurringFee", "", 2.40),
]


def demo_rows(day: date) -> list[CurRow]:
    """The sample's line items of one day: weekdays busier than weekends."""
    swing = 1 + 0.15 * math.sin(2 * math.pi * day.weekday() / 7)
    return [
        CurRow(day, round(usd * swing, 4), usage, line_type, tag, term)
        for tag, usage, line_type, term, usd in DEMO_USAGE
    ]


def write_cur_file(path: Path, rows: Iterable[CurRow], *, tag_key: str = DEFAULT_TAG_KEY) -> None:
    """Write `rows` as a gzip CSV data file of a CUR 2.0 export (daily granularity)."""
    tag_column = cur_tag_column(tag_key)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CUR_COLUMNS)
    for number, row in enumerate(rows):
        tags = {tag_column: row.tag_value} if row.tag_value else {}
        writer.writerow(
            [
                f"sample-{number}",
                f"{row.day.isoformat()}T00:00:00.000Z",
                repr(row.cost_usd),
                row.usage_type,
                row.line_item_type,
                json.dumps(tags),
                row.pricing_term,
            ]
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(out.getvalue().encode()))


def seed_demo_billing(*, today: date) -> BillingSource:
    """Write the sample for the DEMO_DAYS before `today` and pull it; return the source."""
    folder = Path(settings.VAR_DIR) / services.LOCAL_CUR_FOLDER / DEMO_FOLDER
    shutil.rmtree(folder, ignore_errors=True)
    start = today - timedelta(days=DEMO_DAYS)
    days = [start + timedelta(days=i) for i in range(DEMO_DAYS)]
    for period in sorted({f"{day:%Y-%m}" for day in days}):
        rows = [row for day in days if f"{day:%Y-%m}" == period for row in demo_rows(day)]
        name = f"BILLING_PERIOD={period}/{DEMO_SOURCE}-00001.csv.gz"
        write_cur_file(folder / name, rows)
    source, _ = BillingSource.objects.get_or_create(
        name=DEMO_SOURCE,
        defaults={"kind": BillingSource.Kind.CUR, "settings": {"directory": DEMO_FOLDER}},
    )
    return services.pull(source=source, start=start, end=today)
