"""Serverless functions behind the VMs: per-request and GB-second billing, cold starts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from simulation.scenario import Serverless, Variant

MB_PER_VCPU = 1769  # Lambda gives one vCPU-equivalent at 1,769 MB [S]


@dataclass(frozen=True)
class ServerlessUse:
    """Per step: requests served warm, cold, throttled; and the bill.

    Attributes:
        warm: requests served by a warm instance, (T,).
        cold: requests that met a cold start, (T,).
        throttled: requests over the concurrency limit (unserved), (T,).
        duration_s: one request's billed duration.
        cost_usd: requests + GB-seconds (cold-start init included).
    """

    warm: np.ndarray
    cold: np.ndarray
    throttled: np.ndarray
    duration_s: float
    cost_usd: float


def duration_ms(variant: Variant, memory_mb: int) -> float:
    """Request duration at `memory_mb`: CPU share grows with memory up to one vCPU."""
    return variant.serverless_ms_at_1769mb * max(1.0, MB_PER_VCPU / memory_mb)


def serve_serverless(
    rps: np.ndarray, step_s: int, fn: Serverless, variant: Variant, memory_mb: int
) -> ServerlessUse:
    """Bill and time `rps` (T,) requests/s sent to functions.

    Instances needed in a step = rate x duration (Little's law). An instance stays warm for the
    keep-alive after its last request, so the warm pool in a step is the most instances needed
    within the keep-alive before it; every instance above that starts cold, and its first
    request waits for the cold start.
    """
    dur_s = duration_ms(variant, memory_mb) / 1000
    capacity = fn.max_concurrency / dur_s
    served_rps = np.minimum(rps, capacity)
    throttled = (rps - served_rps) * step_s
    need = np.ceil(served_rps * dur_s - 1e-9)
    window = max(1, int(round(fn.keep_alive_s / step_s)))
    padded = np.concatenate([np.zeros(window), need])
    warm_pool = sliding_window_view(padded, window)[:-1].max(axis=1)
    cold = np.minimum(np.maximum(need - warm_pool, 0.0), served_rps * step_s)
    requests = served_rps * step_s
    gb = memory_mb / 1024
    cost = float(
        requests.sum() * (fn.per_request_usd + gb * dur_s * fn.per_gb_s_usd)
        + cold.sum() * gb * fn.cold_start_s * fn.per_gb_s_usd
    )
    return ServerlessUse(requests - cold, cold, throttled, dur_s, cost)


def size_memory(variant: Variant, fn: Serverless, target_ms: float) -> int:
    """Paragon's sizing: the cheapest memory whose duration stays under half the target."""

    def cost(m: int) -> float:
        return m * duration_ms(variant, m)

    fitting = [m for m in fn.memory_options_mb if duration_ms(variant, m) <= target_ms / 2]
    candidates = fitting or list(fn.memory_options_mb)
    return min(candidates, key=lambda m: (cost(m), duration_ms(variant, m)))


def cost_per_request_usd(variant: Variant, fn: Serverless, memory_mb: int) -> float:
    """One warm request's bill: the request fee plus its GB-seconds."""
    return fn.per_request_usd + memory_mb / 1024 * duration_ms(variant, memory_mb) / 1000 * (
        fn.per_gb_s_usd
    )


def break_even_rps(
    vm_price_per_hour_usd: float, variant: Variant, fn: Serverless, memory_mb: int
) -> float:
    """The steady rate below which functions cost less than one more VM replica.

    A replica costs its price whatever it serves; functions cost per request. Under this rate
    (about 18 rps for a c6i.xlarge spot replica against 1,769 MB functions) a step's last,
    nearly idle replica is better left to serverless.
    """
    return vm_price_per_hour_usd / 3600 / cost_per_request_usd(variant, fn, memory_mb)
