"""A workload as the policies see it: its variants, prices and SLA as a `policies` Scenario.

The live controller runs a policy on this scenario, and a replay of the workload's history
(the controller's proof, the what-if) uses the very same one, so both price and size alike.

- Instance types: those the workload's variants have capacity profiles (with `max_rps` and
  `service_time_ms`) on and an in-force on-demand price for, in the workload's region (the one
  with the most prices for them). Spot is the in-force spot price and the hazard of its Spot
  Advisor band; without a spot price, spot costs as much as on-demand with a certain reclaim,
  so no policy puts replicas there. Reserved is the 1-year price (the first term of
  `optimization.purchase`), or on-demand without one.
- A replica of a profile is an M/M/c queue: c = max_rps x service_time, rounded (at least 1).
- The variant is the cheapest per request among those meeting the SLA's accuracy floor.
- Functions: the cheapest serverless offer (any region: the catalog's function offers are few)
  whose memory range fits the variant's memory; the scenario's defaults without one.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import numpy as np

from apps.catalog.models import InterruptionBand, Offer, PurchaseOption, ServerlessOffer
from apps.workloads.history import series_points
from apps.workloads.models import Workload
from forecasting.base import SeriesError
from forecasting.history import RegularSeries, regularize
from optimization.problem import CPU_BOOT_S, GPU_BOOT_S, SPOT_HAZARD_PER_HOUR
from optimization.purchase import OPTIONS
from policies.scenario import Batch, InstanceType, Scenario, Serverless, Variant, VariantProfile

CERTAIN_RECLAIM_PER_HOUR = 1.0  # a spot pool without a price: no policy may choose it


class WorldError(ValueError):
    """The workload lacks what a policy needs; the message says what to add."""


def scenario_for(workload: Workload, *, step_s: int, peak_rps: float) -> Scenario:
    """The workload's world for its policy (see the module docstring).

    Raises:
        WorldError: no latency SLA, no usable capacity profile, or no price for one.
    """
    sla = getattr(workload, "sla", None)
    if sla is None or not sla.latency_target_ms:
        raise WorldError("the workload has no latency SLA: set latency_target_ms first")
    profiles = _profiles(workload)
    if not profiles:
        raise WorldError(
            "no model variant has a capacity profile with max_rps and service_time_ms: "
            "register one first"
        )
    types = {name for rows in profiles.values() for name, _, _ in rows[1]}
    instance_types = _instance_types(types)
    if not instance_types:
        raise WorldError(
            f"no in-force on-demand price for {', '.join(sorted(types))}: import the catalog"
        )
    priced = {t.name for t in instance_types}
    floor = sla.min_accuracy or 0.0
    variants = []
    for name, (accuracy, rows, memory_mb) in profiles.items():
        usable = tuple(VariantProfile(t, c, ms) for t, c, ms in rows if t in priced)
        if usable and accuracy >= floor:
            fastest = min(p.service_ms for p in usable)
            variants.append((Variant(name, accuracy, usable, fastest), memory_mb))
    if not variants:
        raise WorldError(
            f"no priced variant meets the SLA's accuracy floor {floor}: lower it or add one"
        )
    by_name = {t.name: t for t in instance_types}
    chosen, memory_mb = min(variants, key=lambda v: _cost_per_rps(v[0], by_name))
    online = tuple(p.instance_type for p in chosen.profiles)
    return Scenario(
        name=f"{workload.team.slug}/{workload.name}",
        step_s=step_s,
        peak_rps=max(peak_rps, 1e-6),
        latency_target_ms=sla.latency_target_ms,
        latency_percentile=sla.latency_percentile or 99.0,
        min_accuracy=floor,
        default_variant=chosen.name,
        online_types=online,
        instance_types=tuple(instance_types),
        variants=tuple(v for v, _ in variants),
        serverless=_serverless(memory_mb),
        batch=Batch(instance_type=online[0], work_replica_h=0.0),  # an online workload only
    )


def requests_history(
    workload_id: int, *, since: datetime | None = None, series: str = "requests"
) -> RegularSeries | None:
    """The workload's stored series on its regular grid (short gaps filled), or None.

    Stray points far from the rest (`forecasting.history.stray_points`) are left out. Hours
    past retention's raw window come from their rollups (`apps.workloads.history`).
    """
    pairs = series_points(workload_id, series, since=since)
    if len(pairs) < 2:
        return None
    epoch_s = np.fromiter((ts.timestamp() for ts, _ in pairs), dtype=np.int64, count=len(pairs))
    try:
        values = np.fromiter((v for _, v in pairs), dtype=float)
        return regularize(epoch_s, values, drop_strays=True)
    except SeriesError:
        return None


def _profiles(workload: Workload) -> dict[str, tuple[float, list[tuple[str, int, float]], int]]:
    out = {}
    for variant in workload.variants.prefetch_related("capacity_profiles__instance_type"):
        rows = [
            (
                p.instance_type.name,
                max(1, round(p.max_rps * p.service_time_ms / 1000)),
                p.service_time_ms,
            )
            for p in variant.capacity_profiles.all()
            if p.max_rps and p.service_time_ms
        ]
        if rows:
            out[variant.name] = (variant.accuracy, rows, variant.memory_mb)
    return out


def _instance_types(names: set[str]) -> list[InstanceType]:
    rows = list(
        Offer.objects.in_force()
        .filter(instance_type__name__in=names)
        .select_related("instance_type", "region")
        .order_by("instance_type__name", "purchase_option")
    )
    regions = Counter(row.region.code for row in rows)
    if not regions:
        return []
    region = min(regions, key=lambda code: (-regions[code], code))
    prices: dict[str, dict[str, Offer]] = {}
    for row in rows:
        if row.region.code == region:
            prices.setdefault(row.instance_type.name, {})[row.purchase_option] = row
    out = []
    for name, by_option in sorted(prices.items()):
        on_demand = by_option.get(PurchaseOption.ON_DEMAND)
        if on_demand is None:
            continue
        spot = by_option.get(PurchaseOption.SPOT)
        band = spot.interruption_band if spot else ""
        out.append(
            InstanceType.priced(
                name,
                {
                    o.name: float(by_option[o.catalog_value].price_per_hour_usd)
                    for o in OPTIONS
                    if o.catalog_value in by_option
                },
                spot_hazard_per_hour=SPOT_HAZARD_PER_HOUR.get(
                    band or InterruptionBand.OVER_20, CERTAIN_RECLAIM_PER_HOUR
                )
                if spot
                else CERTAIN_RECLAIM_PER_HOUR,
                boot_s=GPU_BOOT_S if on_demand.instance_type.gpu_count else CPU_BOOT_S,
            )
        )
    return out


def _cost_per_rps(variant: Variant, types: dict[str, InstanceType]) -> float:
    return min(
        min(types[p.instance_type].on_demand_per_hour_usd, types[p.instance_type].spot_per_hour_usd)
        / p.capacity_rps
        for p in variant.profiles
    )


def _serverless(memory_mb: int) -> Serverless:
    row = (
        ServerlessOffer.objects.filter(memory_min_mb__lte=memory_mb, memory_max_mb__gte=memory_mb)
        .order_by("price_per_gb_second_usd", "name")
        .first()
    )
    if row is None:
        return Serverless()
    return Serverless(
        per_request_usd=float(row.price_per_request_usd),
        per_gb_s_usd=float(row.price_per_gb_second_usd),
        cold_start_s=row.cold_start_s,
        max_concurrency=row.max_concurrency or Serverless().max_concurrency,
    )
