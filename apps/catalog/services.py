"""Writes to the catalog: importing a pricing catalog file (format `ballast.pricing-catalog/v1`).

The import is idempotent: a price point is keyed by (region, instance type, purchase option,
valid_from), so importing the same file twice changes nothing, and a file with newer `as_of`
dates adds new price points beside the old ones instead of overwriting them.
"""

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import transaction

from apps.catalog.models import (
    InstanceType,
    InterruptionBand,
    Offer,
    Provider,
    PurchaseOption,
    Region,
    ServerlessOffer,
)

SCHEMA = "ballast.pricing-catalog/v1"
# Lambda publishes no cold start: the estimate for a small model (docs/cost-model.md section 6).
DEFAULT_COLD_START_S = 2.0
PROVIDER_NAMES = {"aws": "Amazon Web Services", "gcp": "Google Cloud", "azure": "Microsoft Azure"}


class CatalogError(ValueError):
    """A catalog file that cannot be imported; the message names the entry and the field."""


@dataclass
class ImportSummary:
    """What an import changed."""

    instance_types: int = 0
    offers_created: int = 0
    offers_unchanged: int = 0
    serverless_created: int = 0
    serverless_unchanged: int = 0
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _PricePoint:
    option: PurchaseOption
    price_key: str
    date_key: str


# One per purchase option and term (`optimization.purchase`): "<value>_hourly", dated
# "<value>_as_of" or else the entry's "as_of"; a missing price is no offer.
PRICE_POINTS = tuple(
    _PricePoint(option, f"{option}_hourly", f"{option}_as_of") for option in PurchaseOption
)


def import_catalog(data: dict) -> ImportSummary:
    """Validate the whole file first, then write it in one transaction."""
    if data.get("schema") != SCHEMA:
        raise CatalogError(f"schema: expected {SCHEMA!r}, got {data.get('schema')!r}")
    instances = _require_list(data, "instances")
    serverless = data.get("serverless", [])
    ratio_3y = data.get("discount_anchors", {}).get("ri_3y_standard_no_upfront_ratio")
    rows = [
        _parse_instance(entry, f"instances[{i}]", ratio_3y) for i, entry in enumerate(instances)
    ]
    summary = ImportSummary()
    functions = []
    for i, entry in enumerate(serverless):
        parsed = _parse_serverless(entry, f"serverless[{i}]", summary)
        if parsed:
            functions.append(parsed)
    with transaction.atomic():
        for spec, offers in rows:
            _write_instance(spec, offers, summary)
        for spec in functions:
            _write_serverless(spec, summary)
    return summary


def _require_list(data: dict, key: str) -> list:
    value = data.get(key)
    if not isinstance(value, list):
        raise CatalogError(f"{key}: must be a list")
    return value


def _price(entry: dict, key: str, where: str) -> Decimal:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CatalogError(f"{where}.{key}: must be a finite number, got {value!r}")
    if value < 0:
        raise CatalogError(f"{where}.{key}: must be >= 0, got {value}")
    return Decimal(str(value))


def _day(entry: dict, key: str) -> datetime | None:
    raw = entry.get(key)
    try:
        return datetime.combine(date.fromisoformat(str(raw)), datetime.min.time(), tzinfo=UTC)
    except ValueError:
        return None


def _parse_instance(entry: dict, where: str, ratio_3y: float | None) -> tuple[dict, list[dict]]:
    for key in ("provider", "region", "name"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise CatalogError(f"{where}.{key}: must be a non-empty string")
    where = f"{where} ({entry['name']})"
    band = entry.get("spot_interruption_band", "")
    if band and band not in InterruptionBand.values:
        raise CatalogError(
            f"{where}.spot_interruption_band: {band!r} is not one of {InterruptionBand.values}"
        )
    spec = {
        "provider": entry["provider"],
        "region": entry["region"],
        "name": entry["name"],
        "vcpu": _count(entry, "vcpu", where, minimum=1),
        "memory_gib": _price(entry, "memory_gib", where),
        "gpu_count": _count(entry, "gpu", where, minimum=0),
        "gpu_model": entry.get("gpu_model") or "",
        "accelerator_memory_gib": entry.get("accelerator_memory_gib"),
    }
    offers = []
    for point in PRICE_POINTS:
        if entry.get(point.price_key) is None:
            continue
        valid_from = _day(entry, point.date_key) or _day(entry, "as_of")
        if valid_from is None:
            date_key = point.date_key if point.date_key in entry else "as_of"
            raise CatalogError(f"{where}.{date_key}: must be a date YYYY-MM-DD")
        offers.append(
            {
                "purchase_option": point.option,
                "price_per_hour_usd": _price(entry, point.price_key, where),
                "valid_from": valid_from,
                "interruption_band": band if point.option == PurchaseOption.SPOT else "",
                "is_estimate": bool(
                    entry.get(f"{point.price_key.removesuffix('_hourly')}_is_estimate")
                ),
                "source": entry.get("source_detail", {}).get(point.option, entry.get("source", "")),
            }
        )
    read = {o["purchase_option"] for o in offers}
    on_demand = next((o for o in offers if o["purchase_option"] == PurchaseOption.ON_DEMAND), None)
    if ratio_3y is not None and on_demand is not None and PurchaseOption.RESERVED_3Y not in read:
        offers.append(_reserved_3y(on_demand, ratio_3y, entry, where))
    return spec, offers


def _reserved_3y(on_demand: dict, ratio: float, entry: dict, where: str) -> dict:
    ratio_value = _price({"ratio": ratio}, "ratio", f"{where}.discount_anchors")
    valid_from = _day(entry, "reserved_1y_as_of") or on_demand["valid_from"]
    return {
        "purchase_option": PurchaseOption.RESERVED_3Y,
        "price_per_hour_usd": (on_demand["price_per_hour_usd"] * ratio_value).quantize(
            Decimal("0.000001")
        ),
        "valid_from": valid_from,
        "interruption_band": "",
        "is_estimate": True,
        "source": f"ESTIMATE: on-demand x {ratio} (3-yr Standard RI no-upfront ratio of the "
        "catalog's discount anchor)",
    }


def _count(entry: dict, key: str, where: str, *, minimum: int) -> int:
    value = entry.get(key, 0 if minimum == 0 else None)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise CatalogError(f"{where}.{key}: must be a whole number >= {minimum}, got {value!r}")
    return value


def _parse_serverless(entry: dict, where: str, summary: ImportSummary) -> dict | None:
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise CatalogError(f"{where}.name: must be a non-empty string")
    where = f"{where} ({name})"
    valid_from = _day(entry, "as_of")
    if valid_from is None:
        summary.skipped.append(f"{name}: as_of {entry.get('as_of')!r} is not a date")
        return None
    memory = entry.get("memory_mb") or {}
    allowed = entry.get("memory_mb_allowed") or []
    memory_min = memory.get("min", min(allowed, default=None))
    memory_max = memory.get("max", max(allowed, default=None))
    if (
        not isinstance(memory_min, int)
        or not isinstance(memory_max, int)
        or memory_min > memory_max
    ):
        raise CatalogError(
            f"{where}.memory_mb: needs whole min <= max, got {memory_min}..{memory_max}"
        )
    cold_start = entry.get("cold_start_s", DEFAULT_COLD_START_S)
    return {
        "provider": entry.get("provider", "aws"),
        "region": entry.get("region", ""),
        "name": name,
        "valid_from": valid_from,
        "price_per_request_usd": _price(
            {"p": entry.get("per_request", 0)}, "p", f"{where}.per_request"
        ),
        "price_per_gb_second_usd": _price(entry, "per_gb_second", where),
        "memory_min_mb": memory_min,
        "memory_max_mb": memory_max,
        "cold_start_s": float(_price({"c": cold_start}, "c", f"{where}.cold_start_s")),
        "max_concurrency": entry.get("max_concurrency_max"),
        "is_estimate": "cold_start_s" not in entry,
        "source": entry.get("source", "")
        + (
            ""
            if "cold_start_s" in entry
            else "; cold start: estimate (docs/cost-model.md section 6)"
        ),
    }


def _region(provider_slug: str, code: str) -> Region:
    provider, _ = Provider.objects.get_or_create(
        slug=provider_slug, defaults={"name": PROVIDER_NAMES.get(provider_slug, provider_slug)}
    )
    region, _ = Region.objects.get_or_create(provider=provider, code=code)
    return region


def _write_instance(spec: dict, offers: list[dict], summary: ImportSummary) -> None:
    region = _region(spec["provider"], spec["region"])
    instance_type, _ = InstanceType.objects.update_or_create(
        provider=region.provider,
        name=spec["name"],
        defaults={
            k: spec[k]
            for k in ("vcpu", "memory_gib", "gpu_count", "gpu_model", "accelerator_memory_gib")
        },
    )
    summary.instance_types += 1
    for offer in offers:
        _, created = Offer.objects.update_or_create(
            region=region,
            instance_type=instance_type,
            purchase_option=offer["purchase_option"],
            valid_from=offer["valid_from"],
            defaults={
                k: offer[k]
                for k in ("price_per_hour_usd", "interruption_band", "is_estimate", "source")
            },
        )
        if created:
            summary.offers_created += 1
        else:
            summary.offers_unchanged += 1


def _write_serverless(spec: dict, summary: ImportSummary) -> None:
    region = _region(spec.pop("provider"), spec.pop("region"))
    _, created = ServerlessOffer.objects.update_or_create(
        region=region,
        name=spec.pop("name"),
        valid_from=spec.pop("valid_from"),
        defaults=spec,
    )
    if created:
        summary.serverless_created += 1
    else:
        summary.serverless_unchanged += 1
