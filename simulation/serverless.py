"""Serverless functions behind the VMs: per-request and GB-second billing, cold starts."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from policies.scenario import Serverless, Variant
from policies.serverless import duration_ms


@dataclass(frozen=True)
class ServerlessUse:
    """Per step: requests served warm, cold, throttled; and the bill.

    Attributes:
        warm: requests served by a warm instance, (T,).
        cold: requests that met a cold start, (T,).
        throttled: requests over the concurrency limit, steady or in a cold ramp (unserved), (T,).
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

    Instances needed in a step = rate x duration (Little's law), at most the account's
    concurrency; requests beyond what that carries are throttled. An instance stays warm for
    the keep-alive after its last request, so the warm pool of a step is the most instances of
    the keep-alive before it. What the warm pool does not carry arrives at the step's start
    (the router sets the share then) onto no free instance: for the cold start's duration every
    such request starts an instance of its own and waits for it (a spill wave starts cold), and
    those instances stay busy for the cold start plus the request. Where that ramp needs more
    than the account's concurrency, the requests over it are throttled (a synchronous invoke
    over the limit is refused). The instances a ramp started stay warm like any other.
    """
    dur_s = duration_ms(variant, memory_mb) / 1000
    cold_s = fn.cold_start_s
    limit = float(fn.max_concurrency)
    served_rps = np.minimum(rps, limit / dur_s)
    throttled = (rps - served_rps) * step_s
    refused = np.zeros(len(rps))  # served_rps requests refused in a cold ramp
    need = np.ceil(served_rps * dur_s - 1e-9)
    window = max(1, int(round(fn.keep_alive_s / step_s)))
    ramp_s = min(cold_s, float(step_s))
    instances = np.zeros(len(rps))
    cold = np.zeros(len(rps))
    for t in range(len(rps)):
        warm = float(instances[max(0, t - window) : t].max()) if t else 0.0
        carried = min(float(served_rps[t]), warm / dur_s)  # what warm instances take at once
        ramp_rps = float(served_rps[t]) - carried
        if ramp_rps <= 0:
            instances[t] = max(float(need[t]), 0.0)
            continue
        # during the ramp: warm ones busy at their share, each new request holds a new one
        room = max(0.0, limit - carried * dur_s)
        started_rps = min(ramp_rps, room / (cold_s + dur_s)) if cold_s > 0 else ramp_rps
        cold[t] = started_rps * ramp_s
        refused[t] = (ramp_rps - started_rps) * ramp_s
        instances[t] = min(limit, max(float(need[t]), warm + math.ceil(cold[t] - 1e-9)))
    requests = served_rps * step_s - refused
    gb = memory_mb / 1024
    cost = float(
        requests.sum() * (fn.per_request_usd + gb * dur_s * fn.per_gb_s_usd)
        + cold.sum() * gb * cold_s * fn.per_gb_s_usd
    )
    return ServerlessUse(requests - cold, cold, throttled + refused, dur_s, cost)
