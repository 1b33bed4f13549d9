"""The open-loop schedule, model percentiles, comparison and load generator of fidelity.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
import numpy as np

from optimization.queueing import mixture_quantile, response_survival, wait_probability

PERCENTILES = (50.0, 95.0, 99.0)


@dataclass(frozen=True, slots=True)
class Schedule:
    """Open-loop arrivals: send times in seconds from the start and each one's minute."""

    send_s: np.ndarray  # shape (n,), sorted
    minute: np.ndarray  # shape (n,), the index into the rates that produced each arrival


def scale_to_utilization(
    trace_rps: np.ndarray, utilization: float, servers: int, mean_service_s: float
) -> np.ndarray:
    """Rescale a trace segment so its mean offered load is `utilization` of `servers` servers.

    Args:
        trace_rps: per-minute rates of a trace segment, shape (m,), not all zero.
        utilization: target mean rho = lambda / (c mu), in (0, 1).
        servers: c, the worker processes serving the queue.
        mean_service_s: 1 / mu, measured.

    Returns:
        Per-minute rates in requests/s, shape (m,), keeping the segment's shape.
    """
    mean = float(np.mean(trace_rps))
    if not mean > 0:
        raise ValueError(f"trace_rps must have a positive mean, got {mean}")
    if not 0 < utilization < 1:
        raise ValueError(f"utilization must be in (0, 1), got {utilization}")
    return np.asarray(trace_rps, dtype=float) * (utilization * servers / mean_service_s / mean)


def poisson_schedule(rates_rps: Sequence[float], minute_s: float, seed: int) -> Schedule:
    """Poisson arrivals within each minute at that minute's rate, independent of any answer.

    Minute k covers [k minute_s, (k + 1) minute_s); same seed, same schedule.
    """
    rng = np.random.default_rng(seed)
    sends, minutes = [], []
    for k, rate in enumerate(rates_rps):
        count = rng.poisson(rate * minute_s)
        sends.append(np.sort(k * minute_s + rng.uniform(0.0, minute_s, count)))
        minutes.append(np.full(count, k))
    return Schedule(np.concatenate(sends), np.concatenate(minutes).astype(np.int64))


def model_percentiles_s(
    rate_rps: float,
    servers: int,
    mean_service_s: float,
    percentiles: Sequence[float],
    service_cv: float = 1.0,
    fixed_s: float = 0.0,
) -> np.ndarray:
    """The simulator's response-time percentiles (M/G/c FCFS) in seconds, shape (len(p),).

    The same functions `simulation.metrics.summarize_run` uses: Erlang C for the wait
    probability, `response_survival` for P(R > t) (M/M/c at `service_cv` 1) and
    `mixture_quantile` for the quantile. `fixed_s` is time outside the server's queue (the
    client's side of the connection), added to every request.
    """
    mu = 1.0 / mean_service_s
    c = np.array([servers], dtype=np.int64)
    lam = np.array([rate_rps])
    wait = wait_probability(c, lam / mu)

    def survival(t_s: float) -> np.ndarray:
        return response_survival(t_s, c, mu, lam, wait, service_cv)

    hi_s = 200 * mean_service_s / max(1e-9, 1 - float(lam[0]) / (servers * mu))
    quantiles = [mixture_quantile(p / 100, survival, np.ones(1), hi_s) for p in percentiles]
    return np.array(quantiles) + fixed_s


def per_minute_percentiles_s(
    minute: np.ndarray, response_s: np.ndarray, minutes: int, percentiles: Sequence[float]
) -> np.ndarray:
    """Measured percentiles per minute, shape (minutes, len(percentiles)); NaN for empty ones."""
    out = np.full((minutes, len(percentiles)), np.nan)
    for k in range(minutes):
        values = response_s[minute == k]
        if len(values):
            out[k] = np.percentile(values, percentiles)
    return out


def relative_error(model: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """(model - measured) / measured: positive where the model is pessimistic."""
    error: np.ndarray = (np.asarray(model) - np.asarray(measured)) / np.asarray(measured)
    return error


@dataclass(frozen=True, slots=True)
class Replay:
    """What one replay measured, per request in schedule order."""

    response_s: np.ndarray  # scheduled send to full answer (so no coordinated omission)
    send_lag_s: np.ndarray  # actual send minus scheduled send: the generator's own delay
    ok: np.ndarray  # bool, HTTP 200
    inference_s: np.ndarray  # the worker's own inference time (X-Inference-Us), NaN if none
    start_ns: np.ndarray  # when the worker began the request (X-Start-Ns), NaN if none
    sent_ns: np.ndarray  # when the generator sent it, on the same clock (CLOCK_MONOTONIC)
    cpu_s: float  # the generator process's CPU time over the replay
    wall_s: float


async def _replay(url: str, send_s: np.ndarray) -> Replay:
    n = len(send_s)
    response, lag, ok = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, dtype=bool)
    inference, start_ns, sent_ns = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    connector = aiohttp.TCPConnector(limit=0, force_close=True)  # no client-side queue
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.2
        cpu0, wall0 = time.process_time(), time.perf_counter()

        async def one(i: int) -> None:
            await asyncio.sleep(max(0.0, start + send_s[i] - loop.time()))
            lag[i] = loop.time() - start - send_s[i]
            sent_ns[i] = time.perf_counter_ns()
            try:
                async with session.get(url) as answer:
                    await answer.read()
                    ok[i] = answer.status == 200
                    inference[i] = int(answer.headers.get("X-Inference-Us", "0")) / 1e6
                    start_ns[i] = float(answer.headers.get("X-Start-Ns", "nan"))
            except (aiohttp.ClientError, TimeoutError):
                ok[i] = False
            response[i] = loop.time() - start - send_s[i]

        await asyncio.gather(*(one(i) for i in range(n)))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return Replay(response, lag, ok, inference, start_ns, sent_ns, cpu, wall)


def replay_schedule(url: str, send_s: np.ndarray) -> Replay:
    """Send one GET per scheduled time, open loop, and time each answer."""
    return asyncio.run(_replay(url, send_s))


def simulate_fcfs_s(send_s: np.ndarray, service_s: np.ndarray, servers: int) -> np.ndarray:
    """Response times of a FCFS queue with `servers` servers (Kiefer-Wolfowitz recursion).

    Args:
        send_s: arrival times, shape (n,), sorted.
        service_s: each arrival's service time, shape (n,).
        servers: c.

    Returns:
        Response times (wait + service) in seconds, shape (n,).
    """
    free_at = np.zeros(servers)
    response = np.empty(len(send_s))
    for i, (arrive, service) in enumerate(zip(send_s, service_s, strict=True)):
        k = int(np.argmin(free_at))
        begin = max(arrive, free_at[k])
        free_at[k] = begin + service
        response[i] = free_at[k] - arrive
    return response


def queued_cycles_s(replay: Replay) -> np.ndarray:
    """The worker's time per request during a replay, where the next request was waiting.

    A request sent before the one ahead of it finished its inference found the worker busy;
    the gap between the two starts is then the whole cycle of the first, under the replay's
    own conditions (what else runs on the worker's core). Seconds, in start order.
    """
    done = np.isfinite(replay.start_ns)
    order = np.argsort(replay.start_ns[done])
    start = replay.start_ns[done][order]
    busy_until = start + replay.inference_s[done][order] * 1e9
    waiting = replay.sent_ns[done][order][1:] < busy_until[:-1]
    cycles: np.ndarray = (np.diff(start) / 1e9)[waiting]
    return cycles
