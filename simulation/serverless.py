"""Serverless functions behind the VMs: per-request and GB-second billing, cold starts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from policies.scenario import Serverless, Variant
from policies.serverless import duration_ms


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
