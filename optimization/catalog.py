"""Offers read from a `ballast.pricing-catalog/v1` file (data/pricing/*.json)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from optimization.problem import CPU_BOOT_S, GPU_BOOT_S, SPOT_HAZARD_PER_HOUR, Offer
from optimization.purchase import OPTIONS


def offers_from_catalog(
    catalog: Mapping[str, Any],
    *,
    instance_types: Sequence[str] | None = None,
    committed_counts: Mapping[str, int] | None = None,
    boot_delay_s: Mapping[str, float] | None = None,
) -> tuple[Offer, ...]:
    """One offer per instance type and purchase option the catalog prices, in registry order.

    An offer is named `<type>/<option>` and priced at the option's `price_key`
    (`optimization.purchase`); a type without that price has no such offer. A committed option
    (reserved) is offered only where `committed_counts` commits replicas to it.

    Args:
        catalog: the parsed `ballast.pricing-catalog/v1` JSON (data/pricing/*.json).
        instance_types: keep only these types; None keeps all.
        committed_counts: committed replicas per offer name, e.g. {"g5.xlarge/reserved": 2}.
        boot_delay_s: request-to-serving delay per type; defaults are docs/cost-model.md section 6
            (240 s for GPU types, 60 s for CPU types).
    """
    committed_counts = committed_counts or {}
    offers = []
    for row in catalog["instances"]:
        name = row["name"]
        if instance_types is not None and name not in instance_types:
            continue
        boot = (boot_delay_s or {}).get(name, GPU_BOOT_S if row.get("gpu") else CPU_BOOT_S)
        for option in OPTIONS:
            offer = f"{name}/{option.name}"
            if option.price_key not in row or (
                option.committed and not committed_counts.get(offer)
            ):
                continue
            offers.append(
                Offer(
                    offer,
                    name,
                    option.name,
                    row[option.price_key],
                    boot,
                    SPOT_HAZARD_PER_HOUR[row["spot_interruption_band"]]
                    if option.interruptible
                    else 0.0,
                    committed_count=committed_counts.get(offer, 0) if option.committed else 0,
                )
            )
    return tuple(offers)
