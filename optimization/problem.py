"""The allocation problem as plain, JSON-serialisable dataclasses, validated on construction."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

# PURCHASE_OPTIONS is re-exported: callers name it from here.
from optimization.purchase import PURCHASE_OPTIONS as PURCHASE_OPTIONS
from optimization.purchase import option_named

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

D = TypeVar("D", bound="DataclassInstance")  # a dataclass, as `build` makes one

# docs/cost-model.md section 6: request to serving, by kind of VM.
GPU_BOOT_S = 240.0
CPU_BOOT_S = 60.0


def check_finite(name: str, value: float, *, minimum: float | None = 0.0) -> None:
    """Raise ValueError naming `name` when `value` is NaN, infinite or below `minimum`."""
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


@dataclass(frozen=True, slots=True)
class Offer:
    """One way to buy replicas: an instance type under a purchase option."""

    name: str  # "g5.xlarge/spot"
    instance_type: str
    purchase_option: str  # a name in optimization.purchase.OPTIONS
    price_per_hour_usd: float
    boot_delay_s: float = 60.0
    interruption_rate_per_hour: float = 0.0  # spot hazard, docs/cost-model.md section 3
    committed_count: int = 0  # a committed option's replicas, paid every hour used or not
    max_count: int | None = None  # capacity available to buy, None = unlimited

    def __post_init__(self) -> None:
        try:
            option = option_named(self.purchase_option)
        except ValueError as exc:
            raise ValueError(f"offer {self.name}: {exc}") from None
        check_finite(f"offer {self.name}: price_per_hour_usd", self.price_per_hour_usd)
        check_finite(f"offer {self.name}: boot_delay_s", self.boot_delay_s)
        check_finite(
            f"offer {self.name}: interruption_rate_per_hour", self.interruption_rate_per_hour
        )
        check_finite(f"offer {self.name}: committed_count", self.committed_count)
        if option.committed and self.committed_count < 1:
            raise ValueError(f"offer {self.name}: a {option.name} offer needs committed_count >= 1")
        if self.max_count is not None:
            check_finite(f"offer {self.name}: max_count", self.max_count)

    @property
    def is_spot(self) -> bool:
        """True for interruptible capacity, which does not count towards the non-spot minimum."""
        return option_named(self.purchase_option).interruptible

    @property
    def is_committed(self) -> bool:
        """True for a commitment (reserved), billed every hour whether used or not."""
        return option_named(self.purchase_option).committed

    @property
    def available_count(self) -> int | None:
        """Most replicas usable per interval: a commitment's committed_count, else max_count."""
        if self.is_committed:
            return self.committed_count
        return self.max_count


@dataclass(frozen=True, slots=True)
class ServerlessOffer:
    """Serverless functions that absorb demand above the VM capacity (Paragon's mixed mode)."""

    name: str  # "lambda-x86_64"
    price_per_request_usd: float
    price_per_gb_s_usd: float
    memory_mb: int
    duration_ms: float  # per request at memory_mb
    cold_start_s: float = 2.0
    cold_start_fraction: float = 0.01  # share of requests that meet a cold start
    max_concurrency: int = 1000

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name != "name":
                check_finite(f"serverless {self.name}: {f.name}", getattr(self, f.name))
        if self.duration_ms <= 0 or self.memory_mb <= 0:
            raise ValueError(f"serverless {self.name}: duration_ms and memory_mb must be > 0")
        if self.cold_start_fraction > 1:
            raise ValueError(f"serverless {self.name}: cold_start_fraction must be <= 1")

    @property
    def price_per_rps_hour_usd(self) -> float:
        """Cost of serving 1 request/s for an hour."""
        gb_s = self.memory_mb / 1024 * self.duration_ms / 1000
        return 3600 * (self.price_per_request_usd + gb_s * self.price_per_gb_s_usd)

    @property
    def capacity_rps(self) -> float:
        """Most requests/s the concurrency limit allows."""
        return self.max_concurrency / (self.duration_ms / 1000)


@dataclass(frozen=True, slots=True)
class VariantProfile:
    """How fast one model variant runs on one instance type (one replica)."""

    instance_type: str
    capacity_rps: float  # saturation throughput of one replica
    service_time_ms: float  # mean service time of one request

    def __post_init__(self) -> None:
        check_finite(f"profile {self.instance_type}: capacity_rps", self.capacity_rps)
        check_finite(f"profile {self.instance_type}: service_time_ms", self.service_time_ms)
        if self.capacity_rps <= 0 or self.service_time_ms <= 0:
            raise ValueError(
                f"profile {self.instance_type}: capacity_rps and service_time_ms must be > 0"
            )


@dataclass(frozen=True, slots=True)
class ModelVariant:
    """A model variant with its accuracy and its speed per instance type."""

    name: str
    accuracy: float  # task metric in [0, 1]
    profiles: tuple[VariantProfile, ...]

    def __post_init__(self) -> None:
        check_finite(f"variant {self.name}: accuracy", self.accuracy)
        if self.accuracy > 1:
            raise ValueError(f"variant {self.name}: accuracy must be <= 1, got {self.accuracy}")
        if not self.profiles:
            raise ValueError(f"variant {self.name}: profiles must not be empty")


@dataclass(frozen=True, slots=True)
class DemandForecast:
    """Requests per second per interval, one series per forecast quantile level."""

    levels: tuple[float, ...]  # e.g. (0.5, 0.9, 0.99), increasing
    rps: tuple[tuple[float, ...], ...]  # rps[i][t] for levels[i]

    def __post_init__(self) -> None:
        if not self.levels or len(self.levels) != len(self.rps):
            raise ValueError("demand: levels and rps must be non-empty and of equal length")
        if any(not 0 < q < 1 for q in self.levels) or list(self.levels) != sorted(self.levels):
            raise ValueError(f"demand: levels must be increasing in (0, 1), got {self.levels}")
        lengths = {len(series) for series in self.rps}
        if len(lengths) != 1 or 0 in lengths:
            raise ValueError("demand: every rps series must have the same, non-zero length")
        values = np.asarray(self.rps, dtype=float)
        if not np.isfinite(values).all() or (values < 0).any():
            raise ValueError("demand: rps must be finite and >= 0")

    @property
    def n_intervals(self) -> int:
        """Number of intervals T in the horizon."""
        return len(self.rps[0])

    def rps_at(self, level: float) -> np.ndarray:
        """Demand at a quantile level, shape (T,), interpolated between the stored levels."""
        values = np.asarray(self.rps, dtype=float)
        if len(self.levels) == 1:
            first: np.ndarray = values[0]
            return first.copy()
        return np.array(
            [np.interp(level, self.levels, values[:, t]) for t in range(len(values[0]))]
        )


@dataclass(frozen=True, slots=True)
class SLA:
    """The online latency target."""

    latency_target_ms: float
    latency_percentile: float = 99.0

    def __post_init__(self) -> None:
        check_finite("sla: latency_target_ms", self.latency_target_ms)
        if self.latency_target_ms <= 0:
            raise ValueError("sla: latency_target_ms must be > 0")
        if not 0 < self.latency_percentile < 100:
            raise ValueError("sla: latency_percentile must be in (0, 100)")

    @property
    def allowed_late(self) -> float:
        """The share of requests the SLA lets exceed the target: 1 % for a p99."""
        return 1 - self.latency_percentile / 100

    def reachable(self, service_time_ms: float) -> bool:
        """Whether any amount of capacity keeps this SLA at this mean service time.

        With no queue at all a request is late when its own (exponential) service outlasts the
        target, exp(-target / service) of the time; more replicas cannot help with that.
        """
        return math.exp(-self.latency_target_ms / service_time_ms) <= self.allowed_late


@dataclass(frozen=True, slots=True)
class Constraints:
    """Hard constraints; the solvers never return an allocation that breaks one."""

    demand_quantile: float = 0.9  # capacity covers this forecast quantile
    max_utilization: float = 0.85  # capacity_rps x this is usable (docs/cost-model.md section 8)
    min_accuracy: float = 0.0
    min_non_spot_replicas: int = 0  # online workloads keep a non-spot floor
    budget_per_hour_usd: float | None = None
    max_change_per_interval: int | None = None  # replicas added or removed between intervals
    min_replicas: int = 0
    max_replicas: int = 1000
    allowed_purchase_options: tuple[str, ...] = PURCHASE_OPTIONS

    def __post_init__(self) -> None:
        if not 0 < self.demand_quantile < 1:
            raise ValueError(f"demand_quantile must be in (0, 1), got {self.demand_quantile}")
        if not 0 < self.max_utilization <= 1:
            raise ValueError(f"max_utilization must be in (0, 1], got {self.max_utilization}")
        check_finite("min_accuracy", self.min_accuracy)
        for name in ("min_non_spot_replicas", "min_replicas", "max_replicas"):
            check_finite(name, getattr(self, name))
        if self.budget_per_hour_usd is not None:
            check_finite("budget_per_hour_usd", self.budget_per_hour_usd)
        if self.max_change_per_interval is not None:
            check_finite("max_change_per_interval", self.max_change_per_interval)
        unknown = set(self.allowed_purchase_options) - set(PURCHASE_OPTIONS)
        if unknown or not self.allowed_purchase_options:
            raise ValueError(
                f"allowed_purchase_options must be a non-empty subset of {PURCHASE_OPTIONS}, "
                f"got {self.allowed_purchase_options}"
            )


@dataclass(frozen=True, slots=True)
class Weights:
    """Weights of the objective, all in USD so that the terms add up.

    Defaults and why:
      compute: 1.0, a dollar of compute is a dollar.
      violation_usd_per_hour: 50.0, so 1 % of requests over the latency target for an hour
        costs $0.50, about one g4dn.xlarge on-demand hour: the optimizer buys another GPU
        replica when it removes >= 1 % violations (Gaddam's cost-aware target is < 1 %).
      latency_usd_per_hour: 5.0 per unit of relative p99 excess, so p99 10 % above the target
        for an hour costs $0.50, the same exchange rate as above.
      utilization_usd_per_hour: 0.02, a tie-breaker below the cheapest replica-hour in the
        catalog (m5.large spot $0.033), so utilization never buys or drops a replica alone.
      imbalance_usd_per_hour: 0.01, lambda of the GA-PSO paper; prefers pools of alike
        replicas (equal load per replica under round robin) only when costs tie.
    """

    compute: float = 1.0
    violation_usd_per_hour: float = 50.0
    latency_usd_per_hour: float = 5.0
    utilization_usd_per_hour: float = 0.02
    imbalance_usd_per_hour: float = 0.01

    def __post_init__(self) -> None:
        for f in fields(self):
            check_finite(f"weights: {f.name}", getattr(self, f.name))

    @classmethod
    def cost_only(cls) -> Weights:
        """Compute cost alone: the linear objective the MILP solves exactly."""
        return cls(1.0, 0.0, 0.0, 0.0, 0.0)

    @property
    def is_linear(self) -> bool:
        """True when only the compute term is weighted."""
        return not (
            self.violation_usd_per_hour
            or self.latency_usd_per_hour
            or self.utilization_usd_per_hour
            or self.imbalance_usd_per_hour
        )


@dataclass(frozen=True, slots=True)
class AllocationProblem:
    """One online workload over a horizon of T intervals."""

    name: str
    interval_s: int
    demand: DemandForecast
    offers: tuple[Offer, ...]
    variants: tuple[ModelVariant, ...]
    sla: SLA
    constraints: Constraints = field(default_factory=Constraints)
    serverless: ServerlessOffer | None = None
    weights: Weights = field(default_factory=Weights)
    initial_replicas: int | None = None  # live replicas now, for max_change_per_interval

    def __post_init__(self) -> None:
        check_finite("interval_s", self.interval_s)
        if self.interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {self.interval_s}")
        if not self.offers:
            raise ValueError("offers must not be empty")
        if not self.variants:
            raise ValueError("variants must not be empty")
        names = [o.name for o in self.offers]
        if len(set(names)) != len(names):
            raise ValueError("offers: names must be unique")
        if self.initial_replicas is not None:
            check_finite("initial_replicas", self.initial_replicas)

    @property
    def n_intervals(self) -> int:
        """Number of intervals T."""
        return self.demand.n_intervals

    @property
    def interval_h(self) -> float:
        """Interval length in hours."""
        return self.interval_s / 3600


def problem_to_dict(problem: AllocationProblem) -> dict[str, Any]:
    """A JSON-ready dict of `problem` (tuples become lists)."""
    return asdict(problem)


def problem_from_dict(data: Mapping[str, Any]) -> AllocationProblem:
    """Build and validate a problem from a JSON dict; errors name the missing or bad field."""
    if not isinstance(data, Mapping):
        raise ValueError("problem must be a JSON object")
    try:
        demand = data["demand"]
        return AllocationProblem(
            name=str(data.get("name", "problem")),
            interval_s=data["interval_s"],
            demand=DemandForecast(
                levels=tuple(demand["levels"]), rps=tuple(tuple(s) for s in demand["rps"])
            ),
            offers=tuple(build(Offer, o, "offers") for o in data["offers"]),
            variants=tuple(build_variant(v) for v in data["variants"]),
            sla=build(SLA, data["sla"], "sla"),
            constraints=build_constraints(data.get("constraints") or {}),
            serverless=(
                build(ServerlessOffer, data["serverless"], "serverless")
                if data.get("serverless")
                else None
            ),
            weights=build(Weights, data.get("weights") or {}, "weights"),
            initial_replicas=data.get("initial_replicas"),
        )
    except KeyError as exc:
        raise ValueError(f"problem: missing field {exc.args[0]!r}") from None
    except TypeError as exc:
        raise ValueError(f"problem: {exc}") from None


def build(cls: type[D], data: Mapping[str, Any], where: str) -> D:
    """Instantiate dataclass `cls` from `data`, refusing unknown fields by name."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where} must be a JSON object")
    unknown = set(data) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
    return cls(**data)


def build_variant(data: Mapping[str, Any]) -> ModelVariant:
    """A ModelVariant from its JSON dict."""
    profiles = tuple(build(VariantProfile, p, "variant profile") for p in data["profiles"])
    return build(ModelVariant, {**data, "profiles": profiles}, "variants")


def build_constraints(data: Mapping[str, Any]) -> Constraints:
    """Constraints from their JSON dict."""
    data = dict(data)
    if "allowed_purchase_options" in data:
        data["allowed_purchase_options"] = tuple(data["allowed_purchase_options"])
    return build(Constraints, data, "constraints")


# docs/cost-model.md section 3: h = -ln(1 - p)/730 with p the band's upper bound (0.30 for ">20%").
SPOT_HAZARD_PER_HOUR = {
    "<5%": 7.0e-5,
    "5-10%": 1.44e-4,
    "10-15%": 2.23e-4,
    "15-20%": 3.06e-4,
    ">20%": 4.9e-4,
}
