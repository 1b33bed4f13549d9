"""Refresh EC2 prices in a `ballast.pricing-catalog/v1` catalog: AWS Price List and spot history.

On-demand: the Price List API (`pricing.get_products`, service AmazonEC2; its endpoints live in
us-east-1, eu-central-1 and ap-south-1 whatever region is priced), Linux, shared tenancy, no
pre-installed software, capacity status "Used" (the price of a running instance, not of an
unused reservation). Spot: `ec2.describe_spot_price_history` with start = end = now, which AWS
answers with the price in force in each availability zone; the catalog takes the median across
zones. Spot interruption bands come only from the Spot Instance Advisor feed, for which AWS has
no API, so they are copied from the catalog passed in.
"""

from __future__ import annotations

import copy
import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

SCHEMA = "ballast.pricing-catalog/v1"
LOCATIONS = {  # Price List "location" attribute per region
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
    "eu-central-1": "EU (Frankfurt)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
}
SPOT_PRODUCTS = ["Linux/UNIX", "Linux/UNIX (Amazon VPC)"]  # EC2-Classic-era accounts see the latter
BAND_NOTE = (
    "spot_interruption_band is copied from the catalog this refresh started from: AWS publishes "
    "interruption frequency only in the Spot Instance Advisor feed, not through any API."
)


@dataclass(frozen=True, slots=True)
class OnDemandPrice:
    """One instance type's Linux on-demand list price, with the specs the Price List gives."""

    instance_type: str
    price_per_hour_usd: float
    effective_date: str  # YYYY-MM-DD the price took effect
    sku: str
    vcpu: int | None
    memory_gib: float | None
    gpu: int


@dataclass(frozen=True, slots=True)
class SpotPrice:
    """The median across availability zones of the spot price in force in each."""

    instance_type: str
    price_per_hour_usd: float
    zone_count: int


def parse_price_list_item(item: str) -> OnDemandPrice:
    """Parse one PriceList entry (a JSON string) into its hourly on-demand price.

    Walks terms.OnDemand.<offer>.priceDimensions.<rate>.pricePerUnit.USD, keeping dimensions
    billed in hours; an item whose hourly dimensions disagree, or that has none, is an error.
    """
    product = json.loads(item)
    attributes = product.get("product", {}).get("attributes", {})
    name = attributes.get("instanceType", "?")
    prices, dates = set(), set()
    for offer in product.get("terms", {}).get("OnDemand", {}).values():
        for dimension in offer.get("priceDimensions", {}).values():
            if dimension.get("unit") not in ("Hrs", "Hours"):
                continue
            prices.add(_usd(dimension.get("pricePerUnit", {}).get("USD"), name))
        dates.add(str(offer.get("effectiveDate", ""))[:10])
    if len(prices) != 1:
        found = ", ".join(sorted(map(str, prices))) or "none"
        raise ValueError(f"{name}: expected one hourly on-demand USD price, found {found}")
    return OnDemandPrice(
        instance_type=name,
        price_per_hour_usd=float(prices.pop()),
        effective_date=max(dates),
        sku=str(product.get("product", {}).get("sku", "")),
        vcpu=int(attributes["vcpu"]) if str(attributes.get("vcpu", "")).isdigit() else None,
        memory_gib=_gib(attributes.get("memory")),
        gpu=int(attributes["gpu"]) if str(attributes.get("gpu", "")).isdigit() else 0,
    )


def _usd(raw: Any, name: str) -> Decimal:
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ValueError(f"{name}: pricePerUnit.USD {raw!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"{name}: pricePerUnit.USD {raw!r} is not a price")
    return value


def _gib(raw: Any) -> float | None:
    """'16 GiB' or '1,952 GiB' -> 16.0 / 1952.0."""
    number = str(raw or "").removesuffix("GiB").replace(",", "").strip()
    try:
        return float(number)
    except ValueError:
        return None


def fetch_on_demand_prices(
    pricing: Any, instance_types: Sequence[str], region: str
) -> dict[str, OnDemandPrice]:
    """On-demand prices per instance type from a boto3 "pricing" client; one paged query each."""
    if region not in LOCATIONS:
        raise ValueError(
            f"region {region!r} has no Price List location; known: {sorted(LOCATIONS)}"
        )
    fixed = {
        "location": LOCATIONS[region],
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
    }
    found = {}
    for name in instance_types:
        terms = {**fixed, "instanceType": name}
        filters = [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in terms.items()]
        pages = pricing.get_paginator("get_products").paginate(
            ServiceCode="AmazonEC2", Filters=filters, FormatVersion="aws_v1"
        )
        items = [parse_price_list_item(item) for page in pages for item in page["PriceList"]]
        prices = {item.price_per_hour_usd for item in items}
        if len(prices) != 1:
            raise ValueError(
                f"{name} in {region}: expected one on-demand price, found {prices or 'none'}"
            )
        found[name] = items[0]
    return found


def median_spot_prices(history: Iterable[Mapping[str, Any]]) -> dict[str, SpotPrice]:
    """From spot price history rows, each type's median over zones of the zone's latest price."""
    latest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for row in history:
        zone = (row["InstanceType"], row["AvailabilityZone"])
        if zone not in latest or row["Timestamp"] > latest[zone]["Timestamp"]:
            latest[zone] = row
    per_type: dict[str, list[Decimal]] = {}
    for (name, _), row in latest.items():
        per_type.setdefault(name, []).append(_usd(row["SpotPrice"], name))
    return {
        name: SpotPrice(name, float(statistics.median(prices)), len(prices))
        for name, prices in sorted(per_type.items())
    }


def fetch_spot_prices(
    ec2: Any, instance_types: Sequence[str], now: datetime | None = None
) -> dict[str, SpotPrice]:
    """Spot prices in force at `now` (default: the current time) from a boto3 "ec2" client."""
    now = now or datetime.now(UTC)
    pages = ec2.get_paginator("describe_spot_price_history").paginate(
        InstanceTypes=list(instance_types),
        ProductDescriptions=SPOT_PRODUCTS,
        StartTime=now,
        EndTime=now,
    )
    return median_spot_prices(row for page in pages for row in page["SpotPriceHistory"])


def refresh_catalog(
    pricing: Any,
    ec2: Any,
    instance_types: Sequence[str],
    region: str = "us-east-1",
    existing: Mapping[str, Any] | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """A catalog with fresh on-demand and spot prices for `instance_types`.

    Top-level keys (notes, discount anchors, serverless, storage) and each type's other fields
    (specs, spot_interruption_band, reserved_1y_*) are carried over from `existing`; a type not
    in it gets its specs from the Price List and no band. Instances not asked for are left out.
    """
    today = today or datetime.now(UTC).date()
    catalog = copy.deepcopy(dict(existing or {}))
    if catalog.get("schema", SCHEMA) != SCHEMA:
        raise ValueError(f"existing catalog: schema {catalog['schema']!r} is not {SCHEMA!r}")
    on_demand = fetch_on_demand_prices(pricing, instance_types, region)
    spot = fetch_spot_prices(ec2, instance_types)
    old = {
        (entry.get("region"), entry.get("name")): entry for entry in catalog.get("instances", [])
    }
    catalog.update(schema=SCHEMA, currency="USD")
    catalog["notes"] = [*(n for n in catalog.get("notes", []) if n != BAND_NOTE), BAND_NOTE]
    catalog["instances"] = [
        _entry(old.get((region, name)), on_demand[name], spot.get(name), region, today)
        for name in instance_types
    ]
    return catalog


def _entry(
    old: Mapping[str, Any] | None,
    on_demand: OnDemandPrice,
    spot: SpotPrice | None,
    region: str,
    today: date,
) -> dict[str, Any]:
    entry = copy.deepcopy(dict(old or {}))
    if not old:
        entry.update(provider="aws", region=region, name=on_demand.instance_type)
        entry.update(vcpu=on_demand.vcpu, memory_gib=on_demand.memory_gib, gpu=on_demand.gpu)
    detail = entry.setdefault("source_detail", {})
    entry.update(on_demand_hourly=on_demand.price_per_hour_usd, as_of=today.isoformat())
    detail["on_demand"] = (
        f"AWS Price List API (AmazonEC2 {on_demand.sku}, Linux, Shared, NA, Used), price "
        f"effective {on_demand.effective_date}, read {today.isoformat()}"
    )
    if spot is None:  # no zone offers the type as spot: drop a stale spot price
        for key in ("spot_hourly", "spot_as_of", "spot_savings_pct"):
            entry.pop(key, None)
        detail.pop("spot", None)
    else:
        entry.update(spot_hourly=spot.price_per_hour_usd, spot_as_of=today.isoformat())
        if on_demand.price_per_hour_usd > 0:
            saving = 1 - spot.price_per_hour_usd / on_demand.price_per_hour_usd
            entry["spot_savings_pct"] = round(100 * saving)
        detail["spot"] = (
            f"EC2 describe_spot_price_history (Linux/UNIX): median over {spot.zone_count} "
            f"availability zones of the price in force on {today.isoformat()}"
        )
    entry["source"] = (
        "on-demand: AWS Price List API; spot: EC2 spot price history; "
        "band and reserved: carried over from the previous catalog"
    )
    return entry
