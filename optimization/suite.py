"""Seeded benchmark instances built on the shipped AWS price catalog."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from optimization.catalog import offers_from_catalog
from optimization.problem import (
    SLA,
    AllocationProblem,
    Constraints,
    DemandForecast,
    ModelVariant,
    Offer,
    ServerlessOffer,
    VariantProfile,
    Weights,
)

CATALOG_PATH = Path(__file__).resolve().parents[1] / "data" / "pricing" / "aws-us-east-1.json"

# Requests/s one replica of the reference variant sustains, and its parallel slots [E]: GPU
# types batch (4 slots), CPU types serve one request per 2 vCPUs. Only the benchmark uses them.
REFERENCE_RPS = {
    "g4dn.xlarge": 40.0, "g4dn.2xlarge": 46.0, "g5.xlarge": 80.0, "g5.2xlarge": 90.0,
    "g6.xlarge": 70.0, "g6.2xlarge": 78.0, "inf2.xlarge": 75.0, "p3.2xlarge": 110.0,
    "c5.xlarge": 9.0, "c6i.xlarge": 10.0, "m5.large": 4.0, "m5.xlarge": 8.0,
}  # fmt: skip
VARIANT_SPECS = (("full", 0.92, 1.0), ("distilled", 0.88, 1.7), ("int8", 0.83, 2.6))


@cache
def load_catalog(path: Path = CATALOG_PATH) -> dict[str, Any]:
    """The parsed price catalog."""
    if not path.exists():
        raise FileNotFoundError(f"price catalog not found at {path}")
    catalog: dict[str, Any] = json.loads(path.read_text())
    return catalog


def generate_problem(
    name: str,
    *,
    n_intervals: int,
    n_offers: int,
    n_variants: int,
    seed: int,
    peak_rps: float = 1500.0,
    serverless: bool = False,
    max_change_per_interval: int | None = None,
    budget_per_hour_usd: float | None = None,
    weights: Weights | None = None,
) -> AllocationProblem:
    """A reproducible online problem: diurnal demand, catalog prices, synthetic capacities."""
    rng = np.random.default_rng(seed)
    offers = pick_offers(rng, n_offers)
    types = sorted({o.instance_type for o in offers})
    variants = tuple(make_variant(rng, spec, types) for spec in VARIANT_SPECS[:n_variants])
    return AllocationProblem(
        name=name,
        interval_s=3600,
        demand=make_demand(rng, n_intervals, peak_rps),
        offers=offers,
        variants=variants,
        sla=SLA(latency_target_ms=250.0),
        constraints=Constraints(
            demand_quantile=0.9,
            min_accuracy=0.8,
            min_non_spot_replicas=2,
            max_change_per_interval=max_change_per_interval,
            budget_per_hour_usd=budget_per_hour_usd,
            max_replicas=400,
        ),
        serverless=lambda_offer() if serverless else None,
        weights=weights or Weights.cost_only(),
    )


def pick_offers(rng: np.random.Generator, n_offers: int) -> tuple[Offer, ...]:
    """`n_offers` offers: catalog types plus doubled sizes, on-demand, spot and a few reserved."""
    base = offers_from_catalog(load_catalog())
    doubled = tuple(
        Offer(
            name=o.name.replace("/", "-x2/"),
            instance_type=o.instance_type + "-x2",
            purchase_option=o.purchase_option,
            price_per_hour_usd=round(o.price_per_hour_usd * rng.uniform(1.9, 2.1), 4),
            boot_delay_s=o.boot_delay_s,
            interruption_rate_per_hour=o.interruption_rate_per_hour,
        )
        for o in base
    )
    pool = list(base + doubled)
    chosen = [
        pool[i] for i in sorted(rng.choice(len(pool), size=min(n_offers, len(pool)), replace=False))
    ]
    reserved_types = rng.choice(sorted({o.instance_type for o in chosen}), size=2, replace=False)
    for index, itype in enumerate(reserved_types):
        price = next(o.price_per_hour_usd for o in chosen if o.instance_type == itype) * 0.66
        chosen[-1 - index] = Offer(
            f"{itype}/reserved", itype, "reserved", round(price, 4), committed_count=index + 2
        )
    return tuple(chosen)


def make_variant(
    rng: np.random.Generator, spec: tuple[str, float, float], types: Iterable[str]
) -> ModelVariant:
    """A variant with capacity = reference x speed-up x noise on every type."""
    name, accuracy, speedup = spec
    profiles = []
    for itype in types:
        base_type = itype.removesuffix("-x2")
        rps = REFERENCE_RPS[base_type] * speedup * rng.uniform(0.85, 1.15)
        if itype.endswith("-x2"):
            rps *= rng.uniform(1.8, 2.2)
        slots = 4.0 if base_type[0] in "gip" else 2.0
        profiles.append(VariantProfile(itype, round(rps, 2), round(1000 * slots / rps, 2)))
    return ModelVariant(name, accuracy, tuple(profiles))


def make_demand(rng: np.random.Generator, n_intervals: int, peak_rps: float) -> DemandForecast:
    """Diurnal p50 demand with noise, and p90/p99 spread above it."""
    hours = np.arange(n_intervals)
    shape = 0.55 + 0.45 * np.sin(2 * np.pi * (hours - 8) / 24)
    p50 = peak_rps * shape * rng.uniform(0.9, 1.1, n_intervals)
    return DemandForecast(
        levels=(0.5, 0.9, 0.99),
        rps=tuple(tuple(np.round(p50 * k, 2).tolist()) for k in (1.0, 1.2, 1.45)),
    )


def lambda_offer() -> ServerlessOffer:
    """Lambda x86 at 4 GB (catalog prices), 180 ms per request, 2 s cold starts."""
    return ServerlessOffer(
        name="lambda-x86_64",
        price_per_request_usd=2e-07,
        price_per_gb_s_usd=1.66667e-05,
        memory_mb=4096,
        duration_ms=180.0,
        cold_start_s=2.0,
        cold_start_fraction=0.01,
        max_concurrency=50,
    )


# name: (n_intervals, n_offers, n_variants, seed, extra keyword arguments)
BENCH_SPECS: dict[str, tuple[int, int, int, int, dict[str, Any]]] = {
    "tiny-3x4x1": (3, 4, 1, 1, {"peak_rps": 120.0}),
    "small-6x8x2": (6, 8, 2, 2, {"peak_rps": 400.0}),
    "medium-12x16x2": (12, 16, 2, 3, {"peak_rps": 800.0}),
    "medium-12x24x3-budget": (12, 24, 3, 4, {"budget_per_hour_usd": 2.1}),
    "medium-24x24x2-serverless": (24, 24, 2, 5, {"serverless": True, "peak_rps": 600.0}),
    "large-24x40x3": (24, 40, 3, 6, {"peak_rps": 3000.0}),
    "large-24x40x3-change": (24, 40, 3, 7, {"peak_rps": 3000.0, "max_change_per_interval": 6}),
    "low-24x40x3": (24, 40, 3, 8, {"peak_rps": 300.0}),
}


def bench_suite() -> list[AllocationProblem]:
    """The instances of `python -m optimization bench`, smallest first (cost-only objective)."""
    return [
        generate_problem(name, n_intervals=t, n_offers=o, n_variants=v, seed=seed, **extra)
        for name, (t, o, v, seed, extra) in BENCH_SPECS.items()
    ]
