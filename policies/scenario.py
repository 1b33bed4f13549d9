"""The simulated world in one documented place: the default "recommender" scenario and its loader.

Every number carries its source tag from docs/cost-model.md: [S] sourced, [D] derived,
[E] estimate. Every [E] is a field here, so a JSON file can override it (`load_scenario`).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optimization.problem import SPOT_HAZARD_PER_HOUR  # docs/cost-model.md section 3 [E]
from optimization.purchase import OPTIONS

CATALOG_PATH = Path(__file__).resolve().parents[1] / "data" / "pricing" / "aws-us-east-1.json"
LOAD_BALANCERS = ("round_robin", "least_connections", "capacity_weighted")


@dataclass(frozen=True, slots=True)
class InstanceType:
    """Prices and start-up of one instance type, per replica (one replica per instance)."""

    name: str
    on_demand_per_hour_usd: float
    spot_per_hour_usd: float
    reserved_per_hour_usd: float
    spot_hazard_per_hour: float
    boot_s: float  # request -> serving, docs/cost-model.md section 6 (CPU 60 s, GPU 240 s) [E]

    @classmethod
    def priced(
        cls,
        name: str,
        prices: Mapping[str, float],
        *,
        spot_hazard_per_hour: float,
        boot_s: float,
    ) -> InstanceType:
        """The type from its price per purchase option; an option without one costs on-demand."""
        on_demand = prices["on_demand"]
        return cls(
            name=name,
            on_demand_per_hour_usd=on_demand,
            spot_per_hour_usd=prices.get("spot", on_demand),
            reserved_per_hour_usd=prices.get("reserved", on_demand),
            spot_hazard_per_hour=spot_hazard_per_hour,
            boot_s=boot_s,
        )

    def price_per_hour_usd(self, option: str) -> float:
        """Hourly price under a purchase option (`optimization.purchase`)."""
        return {
            "on_demand": self.on_demand_per_hour_usd,
            "spot": self.spot_per_hour_usd,
            "reserved": self.reserved_per_hour_usd,
        }[option]


@dataclass(frozen=True, slots=True)
class VariantProfile:
    """Speed of one model variant on one instance type: `workers` M/G/c servers per replica."""

    instance_type: str
    workers: int  # concurrent requests one replica serves (one per vCPU for a CPU ranker) [E]
    service_ms: float  # mean service time of one request on one worker [E]
    # Coefficient of variation of that service time (std / mean): 1 is exponential (M/M/c,
    # the default scenario's assumption [E]); a torch MLP ranker behind gunicorn measured
    # far less (docs/benchmarks/fidelity.md). `optimization.queueing.response_survival`.
    service_cv: float = 1.0

    def __post_init__(self) -> None:
        if not (self.service_cv >= 0 and math.isfinite(self.service_cv)):
            raise ValueError(f"service_cv must be a finite number >= 0, got {self.service_cv}")

    @property
    def capacity_rps(self) -> float:
        """Saturation throughput of one replica."""
        return self.workers * 1000.0 / self.service_ms


@dataclass(frozen=True, slots=True)
class Variant:
    """A model variant (Paragon: pick the cheapest that meets accuracy and latency)."""

    name: str
    accuracy: float
    profiles: tuple[VariantProfile, ...]
    serverless_ms_at_1769mb: float  # Lambda duration at one vCPU-equivalent [E]

    def profile(self, instance_type: str) -> VariantProfile:
        """The profile on `instance_type`; KeyError names the type when there is none."""
        for p in self.profiles:
            if p.instance_type == instance_type:
                return p
        raise KeyError(f"variant {self.name} has no profile on {instance_type}")


@dataclass(frozen=True, slots=True)
class Serverless:
    """AWS Lambda x86_64 us-east-1 [S] with cold starts and keep-alive [E]."""

    per_request_usd: float = 2e-7  # [S]
    per_gb_s_usd: float = 1.66667e-5  # [S]
    memory_mb: int = 2048  # default sizing; Paragon sizes memory itself [E]
    memory_options_mb: tuple[int, ...] = (1024, 1769, 2048, 3008, 4096)
    cold_start_s: float = 2.0  # small model, docs/cost-model.md section 6 [E]
    keep_alive_s: float = 600.0  # 10 min, docs/cost-model.md section 6 [E]
    max_concurrency: int = 1000  # AWS default account concurrency [S]


@dataclass(frozen=True, slots=True)
class Batch:
    """The nightly embedding refresh: work in replica-hours inside a deadline window (UTC)."""

    instance_type: str = "g4dn.xlarge"
    work_replica_h: float = 6.0  # GPU-hours of embedding inference per night [E]
    replicas: int = 3
    window_start_h: float = 1.0  # 01:00 UTC
    window_end_h: float = 6.0  # deadline 06:00 UTC
    checkpoint_every_s: float = 900.0  # Young: sqrt(2 C MTBF) is far longer; 15 min bounds loss
    checkpoint_cost_s: float = 10.0  # docs/cost-model.md section 6 [E]
    checkpoint_gb: float = 20.0  # embedding table snapshot [E]
    storage_gb_month_usd: float = 0.023  # S3 Standard [S]
    notice_s: float = 120.0  # spot interruption notice, AWS [S]


@dataclass(frozen=True, slots=True)
class SpotMarket:
    """How spot capacity behaves beyond independent reclaims: waves, shortages, price moves.

    The Spot Advisor band of a type (the share of its capacity reclaimed over a month [S]) fixes
    how much is reclaimed; how it comes is not published per pool, so the split is an estimate:
    `wave_share` of it comes in pool-wide waves, each reclaiming `wave_fraction` of the pool's
    replicas together with the usual 2-minute notice, and the rest replica by replica. A wave
    is capacity going away, so for `shortage_s` after it the pool launches nothing
    (InsufficientInstanceCapacity); shortages also come without a wave, `shortage_per_hour`
    per pool. SpotLake (Lee, Hwang and Lee, IISWC 2022, arXiv:2202.02973), which archives spot
    placement scores, Advisor bands and prices since 2021, finds availability moving far more
    than prices, which "barely change": spot prices move by a daily log-normal factor of
    `price_sigma_per_day` around the catalog's. `stress` adds the SRE's first question: the
    pool holding the most spot replicas is reclaimed whole at each day's peak load, with its
    shortage. `enabled=False` is the calm world of independent reclaims, always replaced.
    """

    enabled: bool = True
    wave_share: float = 0.5  # [E]
    wave_fraction: float = 0.5  # [E]
    shortage_s: float = 1800.0  # [E] capacity back after half an hour
    shortage_per_hour: float = 0.01  # [E] one per pool every ~4 days, besides the waves
    price_sigma_per_day: float = 0.05  # [E] SpotLake: prices barely change
    stress: bool = False

    def __post_init__(self) -> None:
        for name in ("wave_share", "wave_fraction"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"spot_market.{name} must be in [0, 1], got {value}")
        for name in ("shortage_s", "shortage_per_hour", "price_sigma_per_day"):
            value = getattr(self, name)
            if not 0 <= value < float("inf"):
                raise ValueError(f"spot_market.{name} must be finite and >= 0, got {value}")

    @classmethod
    def calm(cls) -> SpotMarket:
        """Independent reclaims only, every launch served, catalog prices."""
        return cls(enabled=False)


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything a replay needs besides the trace and the policy.

    The default is the research's case study, a recommender: an online ranking service with a
    p99 target of 100 ms on CPU instances, and a nightly batch refresh of embeddings on GPUs.
    """

    name: str = "recommender"
    step_s: int = 60  # the cluster model's step; traces are resampled to it
    peak_rps: float = 5000.0  # the trace's shape is scaled so that its peak is this
    latency_target_ms: float = 100.0
    latency_percentile: float = 99.0
    min_accuracy: float = 0.9
    default_variant: str = "ranker-large"
    online_types: tuple[str, ...] = ("c6i.xlarge", "c5.xlarge", "m5.large")
    instance_types: tuple[InstanceType, ...] = ()
    variants: tuple[Variant, ...] = ()
    serverless: Serverless = field(default_factory=Serverless)
    batch: Batch = field(default_factory=Batch)
    spot_market: SpotMarket = field(default_factory=SpotMarket)
    load_balancer: str = "least_connections"
    queue_timeout_s: float = 30.0  # requests queued longer are dropped [E]
    spot_notice_s: float = 120.0  # [S]
    min_billed_s: float = 60.0  # per-second billing, 60 s minimum [S]
    sla_penalty_usd_per_1k_violations: float = 0.01  # $10 per million late requests [E]
    oracle_max_violation: float = 0.001  # "zero violations": at most 0.1 % late per step [E]
    forecast_refit_s: int = 3600  # predictive policies refit at most hourly
    forecast_model: str = "seasonal_naive"  # fast and, on these traces, hard to beat
    seed: int = 0

    def __post_init__(self) -> None:
        if self.step_s < 1:
            raise ValueError(f"step_s must be >= 1, got {self.step_s}")
        if not self.peak_rps > 0 or not math.isfinite(self.peak_rps):
            raise ValueError(f"peak_rps must be a finite number > 0, got {self.peak_rps}")
        if self.load_balancer not in LOAD_BALANCERS:
            raise ValueError(
                f"load_balancer must be one of {LOAD_BALANCERS}, got {self.load_balancer!r}"
            )
        names = {t.name for t in self.instance_types}
        for name in (*self.online_types, self.batch.instance_type):
            if name not in names:
                raise ValueError(f"instance type {name!r} is not in instance_types")
        if self.default_variant not in {v.name for v in self.variants}:
            raise ValueError(f"default_variant {self.default_variant!r} is not in variants")

    def instance(self, name: str) -> InstanceType:
        """The instance type called `name`."""
        return next(t for t in self.instance_types if t.name == name)

    def variant(self, name: str) -> Variant:
        """The variant called `name`."""
        return next(v for v in self.variants if v.name == name)

    def serving(self, variant: str) -> Scenario:
        """This world serving `variant` on the types it has profiles on (itself if unknown)."""
        if variant not in {v.name for v in self.variants} or variant == self.default_variant:
            return self
        types = tuple(p.instance_type for p in self.variant(variant).profiles)
        return dataclasses.replace(self, default_variant=variant, online_types=types)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every parameter."""
        return dataclasses.asdict(self)


def read_catalog(path: Path = CATALOG_PATH) -> tuple[InstanceType, ...]:
    """Instance types from a `ballast.pricing-catalog/v1` JSON file, with default boot delays."""
    rows = json.loads(Path(path).read_text())["instances"]
    return tuple(
        InstanceType.priced(
            row["name"],
            {o.name: row[o.price_key] for o in OPTIONS if o.price_key in row},
            spot_hazard_per_hour=SPOT_HAZARD_PER_HOUR[row["spot_interruption_band"]],
            boot_s=240.0 if row.get("gpu") else 60.0,
        )
        for row in rows
    )


def default_variants() -> tuple[Variant, ...]:
    """Two ranking variants [E]: one worker per vCPU, exponential service times."""
    return (
        Variant(
            "ranker-large",
            accuracy=0.93,
            profiles=(
                VariantProfile("c6i.xlarge", workers=4, service_ms=12.0),
                VariantProfile("c5.xlarge", workers=4, service_ms=13.0),
                VariantProfile("m5.large", workers=2, service_ms=14.0),
            ),
            serverless_ms_at_1769mb=30.0,
        ),
        Variant(
            "ranker-small",
            accuracy=0.88,
            profiles=(
                VariantProfile("c6i.xlarge", workers=4, service_ms=6.0),
                VariantProfile("c5.xlarge", workers=4, service_ms=6.5),
                VariantProfile("m5.large", workers=2, service_ms=7.0),
            ),
            serverless_ms_at_1769mb=15.0,
        ),
    )


def default_scenario(**overrides: Any) -> Scenario:
    """The "recommender" scenario with the catalog's prices; keyword arguments override fields."""
    base = {"instance_types": read_catalog(), "variants": default_variants()}
    return Scenario(**{**base, **overrides})


def load_scenario(path: str | Path | None = None, **overrides: Any) -> Scenario:
    """The default scenario, with the fields of a JSON file (and then `overrides`) applied.

    Raises:
        ValueError: the file is not JSON, names an unknown field, or a value is invalid.
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"scenario file {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError(f"scenario file {path}: must hold a JSON object")
    return default_scenario(**_build_fields(Scenario, {**data, **overrides}, "scenario"))


def _build_fields(cls: type, data: Mapping[str, Any], where: str) -> dict[str, Any]:
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {unknown}")
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name == "serverless" and isinstance(value, Mapping):
            value = Serverless(**_build_fields(Serverless, value, "serverless"))
        elif name == "batch" and isinstance(value, Mapping):
            value = Batch(**_build_fields(Batch, value, "batch"))
        elif name == "spot_market" and isinstance(value, Mapping):
            value = SpotMarket(**_build_fields(SpotMarket, value, "spot_market"))
        elif name == "instance_types":
            value = tuple(InstanceType(**row) for row in value)
        elif name == "variants":
            value = tuple(_build_variant(row) for row in value)
        elif isinstance(value, list):
            value = tuple(value)
        out[name] = value
    return out


def _build_variant(row: Mapping[str, Any]) -> Variant:
    profiles = tuple(VariantProfile(**p) for p in row["profiles"])
    return Variant(**{**row, "profiles": profiles})
