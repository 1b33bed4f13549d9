"""Serverless sizing: the memory size that meets the latency target at the least cost."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimization.layout import InfeasibleProblem
from optimization.problem import check_finite


@dataclass(frozen=True, slots=True)
class FunctionProfile:
    """How one request runs in a function: CPU work scales with vCPUs, I/O does not.

    Lambda gives 1 vCPU per 1,769 MB, up to 6 (docs/cost-model.md section 5); code that uses
    `parallelism` threads gets no faster beyond that many vCPUs.
    """

    cpu_ms_at_1_vcpu: float
    io_ms: float = 0.0
    parallelism: float = 1.0
    min_memory_mb: int = 128  # the model and runtime must fit

    def __post_init__(self) -> None:
        check_finite("cpu_ms_at_1_vcpu", self.cpu_ms_at_1_vcpu)
        check_finite("io_ms", self.io_ms)
        check_finite("min_memory_mb", self.min_memory_mb)
        if self.parallelism < 1:
            raise ValueError(f"parallelism must be >= 1, got {self.parallelism}")


@dataclass(frozen=True, slots=True)
class ServerlessSizing:
    """The chosen memory size and what it gives."""

    memory_mb: int
    duration_ms: float
    cost_per_million_requests_usd: float
    latency_target_ms: float


def duration_ms(
    profile: FunctionProfile,
    memory_mb: np.ndarray,
    *,
    mb_per_vcpu: float = 1769.0,
    max_vcpu: float = 6.0,
) -> np.ndarray:
    """Warm duration per request at each memory size, shape of `memory_mb`."""
    vcpu = np.minimum(np.minimum(memory_mb / mb_per_vcpu, max_vcpu), profile.parallelism)
    return profile.io_ms + profile.cpu_ms_at_1_vcpu / vcpu


def size_serverless(
    profile: FunctionProfile,
    *,
    latency_target_ms: float,
    price_per_request_usd: float = 2e-07,
    price_per_gb_s_usd: float = 1.66667e-05,
    memory_mb_range: tuple[int, int] = (128, 10240),
    step_mb: int = 1,
) -> ServerlessSizing:
    """The cheapest memory size whose warm duration meets `latency_target_ms`.

    Defaults are Lambda x86_64 us-east-1 prices, billed per 1 ms; all sizes in the range (1 MB
    steps) are evaluated at once.

    Raises:
        InfeasibleProblem: naming "latency_target_ms" when no size is fast enough.
    """
    check_finite("latency_target_ms", latency_target_ms)
    check_finite("price_per_request_usd", price_per_request_usd)
    check_finite("price_per_gb_s_usd", price_per_gb_s_usd)
    low = max(memory_mb_range[0], profile.min_memory_mb)
    memory = np.arange(low, memory_mb_range[1] + 1, step_mb, dtype=float)
    duration = duration_ms(profile, memory)
    billed_s = np.ceil(duration) / 1000
    cost = price_per_request_usd + price_per_gb_s_usd * memory / 1024 * billed_s
    ok = duration <= latency_target_ms
    if not ok.any():
        fastest = float(duration.min()) if len(duration) else float("nan")
        raise InfeasibleProblem(
            "latency_target_ms",
            f"the fastest size runs {fastest:.1f} ms > target {latency_target_ms} ms",
        )
    best = int(np.argmin(np.where(ok, cost, np.inf)))
    return ServerlessSizing(
        memory_mb=int(memory[best]),
        duration_ms=float(duration[best]),
        cost_per_million_requests_usd=float(cost[best] * 1e6),
        latency_target_ms=latency_target_ms,
    )
