"""The latency model against a real service: a torch MLP ranker served by gunicorn, open loop.

Run from the repository root:

    .venv/bin/python -m benchmarks.fidelity

It writes docs/benchmarks/fidelity.md; every number in it is computed here. It starts gunicorn
with WORKERS sync worker processes (benchmarks/fidelity_app.py, one thread each) on loopback,
measures the service time closed loop (one request at a time), then replays the NASA HTTP
trace's per-minute shape, scaled to each target utilization, with Poisson arrivals within each
minute from an asyncio generator in this process (it shares the machine's cores with the
workers). Each minute's measured p50/p95/p99 is set against the simulator's M/M/c prediction
(optimization.queueing, as simulation.metrics uses it) for the same workers, the minute's
arrival rate and the measured mean service time.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch

from benchmarks.fidelity_app import CANDIDATES, FEATURES, HIDDEN
from benchmarks.fidelity_load import (
    PERCENTILES,
    Replay,
    model_percentiles_s,
    per_minute_percentiles_s,
    poisson_schedule,
    relative_error,
    replay_schedule,
    scale_to_utilization,
    simulate_fcfs_s,
)
from simulation.trace import load_trace

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "benchmarks" / "fidelity.md"
COMMAND = ".venv/bin/python -m benchmarks.fidelity"
TRACE = ROOT / "data" / "traces" / "nasa_http_1995-07_1min.csv"
# 1995-07-06 16:16 UTC. Of the 10-minute stretches at over 15 % of the trace's peak, the one
# whose pairs of minutes are steadiest (within 4 % of their mean): a level's second minute must
# not push a 0.9 level past saturation by the trace's own swing.
TRACE_START_MIN = 7936
WORKERS = 2  # one per core of this 2-vCPU machine: the m5.large profile's shape (2 workers)
UTILIZATIONS = (0.3, 0.5, 0.7, 0.85, 0.9)
MINUTES_PER_LEVEL = 2
MINUTE_S = 60.0
SERVICE_SAMPLES = 1000
SEED = 25


@dataclass(frozen=True, slots=True)
class Level:
    """One utilization level's replay and its comparison, per minute."""

    target: float
    rates_rps: np.ndarray  # realized arrivals / MINUTE_S, shape (m,)
    measured_s: np.ndarray  # (m, len(PERCENTILES))
    model_s: np.ndarray
    fcfs_s: np.ndarray  # FCFS queue with the measured service times, same arrivals
    replay: Replay


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int) -> tuple[float, int]:
    """One request, a new connection (sync workers close each): seconds and inference µs."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/")
    answer = conn.getresponse()
    answer.read()
    conn.close()
    return time.perf_counter() - started, int(answer.getheader("X-Inference-Us") or 0)


@contextlib.contextmanager
def serve_model(workers: int) -> Iterator[int]:
    """Run gunicorn serving the model on a free loopback port, stopped on exit; yields the port."""
    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "sync"]
    cmd += ["--bind", f"127.0.0.1:{port}", "--backlog", "4096", "--log-level", "warning"]
    proc = subprocess.Popen([*cmd, "benchmarks.fidelity_app:app"], cwd=ROOT)
    try:
        for _ in range(300):
            with contextlib.suppress(OSError):
                get(port)
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not answer within 30 s")
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def measure_service(port: int) -> tuple[np.ndarray, np.ndarray]:
    """Closed loop, one request at a time: HTTP service times and inference times, seconds."""
    for _ in range(200):  # warm both workers' caches and allocators
        get(port)
    samples = [get(port) for _ in range(SERVICE_SAMPLES)]
    return np.array([s for s, _ in samples]), np.array([us for _, us in samples]) / 1e6


def run_level(
    port: int, target: float, trace_rps: np.ndarray, service_s: np.ndarray, seed: int
) -> Level:
    """Replay one scaled trace segment and compare each minute with the model."""
    mean_s = float(service_s.mean())
    rates = scale_to_utilization(trace_rps, target, WORKERS, mean_s)
    schedule = poisson_schedule(rates, MINUTE_S, seed)
    replay = replay_schedule(f"http://127.0.0.1:{port}/", schedule.send_s)
    m = len(rates)
    realized = np.bincount(schedule.minute, minlength=m) / MINUTE_S
    measured = per_minute_percentiles_s(schedule.minute, replay.response_s, m, PERCENTILES)
    model = np.array([model_percentiles_s(r, WORKERS, mean_s, PERCENTILES) for r in realized])
    draws = np.random.default_rng(seed).choice(service_s, len(schedule.send_s))
    fcfs = simulate_fcfs_s(schedule.send_s, draws, WORKERS)
    fcfs_p = per_minute_percentiles_s(schedule.minute, fcfs, m, PERCENTILES)
    return Level(target, realized, measured, model, fcfs_p, replay)


def ms(x: float) -> str:
    """Milliseconds to one decimal."""
    return f"{x * 1000:.1f}"


def pct(x: float) -> str:
    """A relative error as a signed percentage."""
    return f"{x * 100:+.0f} %"


def reading_lines(levels: list[Level], service_s: np.ndarray, inference_s: np.ndarray) -> list[str]:
    """What the tables say, each number computed from them."""
    mean_s, closed_s = float(service_s.mean()), float(inference_s.mean())
    within = [lv for lv in levels if lv.target <= 0.85]
    p99_err = [float(relative_error(lv.model_s.mean(0), lv.measured_s.mean(0))[2]) for lv in within]
    fcfs_err = [float(relative_error(lv.fcfs_s.mean(0), lv.measured_s.mean(0))[2]) for lv in within]
    slow = [float(np.nanmean(lv.replay.inference_s)) / closed_s for lv in levels]
    busy = [
        float(lv.rates_rps.mean()) * mean_s * k + lv.replay.cpu_s / lv.replay.wall_s
        for lv, k in zip(levels, slow, strict=True)
    ]
    lag_p99 = [float(np.percentile(lv.replay.send_lag_s, 99)) for lv in levels]
    return [
        "## Reading",
        "",
        f"- **Target** (issue #25: p99 within 20 % up to rho 0.85): the model's p99 error at "
        f"the levels up to 0.85 runs from {pct(min(p99_err))} to {pct(max(p99_err))}; levels "
        f"within 20 %: {sum(abs(e) <= 0.2 for e in p99_err)} of {len(p99_err)}.",
        f"- **Service-time shape** (what the model gets wrong by itself). The measured service "
        f"time has CV {float(service_s.std()) / mean_s:.2f}; M/M/c assumes 1. An exponential "
        f"service puts the median below the mean ({ms(mean_s * np.log(2))} ms with no queue, "
        f"against a measured {ms(float(np.median(service_s)))} ms) and a long tail even with "
        "no queue: where the queue is short (the lowest levels) the model is optimistic at "
        "p50 and pessimistic at p99 for that reason.",
        "- **The machine under load** (what no queue formula fed the closed-loop service time "
        "can see). During the replays the workers' own inference took "
        f"{min(slow):.2f}-{max(slow):.2f} x its closed-loop mean: the generator, the gunicorn "
        "master and the kernel's connection handling share the two cores with the two "
        "workers. Workers busy at the under-load inference time plus the generator's share "
        "come to about "
        + ", ".join(f"{b:.2f}" for b in busy)
        + " of the 2 cores at the levels "
        + ", ".join(f"{lv.target:g}" for lv in levels)
        + ", before the gunicorn master and "
        "the kernel: at the top levels the server saturates and the queue grows through the "
        "minute (seconds of p50), whatever rho says. An ideal FCFS queue with the measured "
        f"service times (last column) misses the measured p99 by {pct(min(fcfs_err))} to "
        f"{pct(max(fcfs_err))} up to 0.85, so at this machine's scale most of the gap at "
        "high load is co-location, not the queue model.",
        "- **The generator** kept within 10 ms of its schedule at p99 at the levels "
        + ", ".join(f"{lv.target:g}" for lv, x in zip(levels, lag_p99, strict=True) if x < 0.01)
        + " (send lag p99 "
        + ", ".join(f"{ms(x)}" for x in lag_p99)
        + " ms by level); where it lags it is itself starved of CPU. Lateness still counts "
        "against the server (response times run from the scheduled send), but a lagging "
        "generator bunches arrivals. A two-machine setup, or one worker with a core left to "
        "the generator, would separate the two effects.",
        "- **Not done here** (the rest of #25 item 4): the policy ranking rerun with measured "
        "latencies in place of the model's, and the run on a GPU machine. The model is "
        "unchanged by this benchmark; a later change fixes the model, not the figure.",
        "",
    ]


def render(levels: list[Level], service_s: np.ndarray, inference_s: np.ndarray, run: dict) -> str:
    """The report: setup, service time, headline table, per minute, generator check."""
    mean_s = float(service_s.mean())
    cv = float(service_s.std() / mean_s)
    lines = [
        "# Latency model fidelity: M/M/c against a served torch model",
        "",
        f"Command: `{COMMAND}` (also run by `make bench`). Run on {run['started']:%Y-%m-%d %H:%M}"
        f" UTC in {run['runtime_s'] / 60:.1f} min. Machine: {platform.machine()}, "
        f"{os.cpu_count()} vCPUs, no GPU; Python {platform.python_version()}, torch "
        f"{torch.__version__} (CPU), gunicorn {run['gunicorn']}. The load generator runs on "
        "the same machine as the server and shares its two cores.",
        "",
        f"**Service.** A small MLP ({FEATURES} -> {' -> '.join(map(str, HIDDEN))} -> 1, ReLU) "
        f"stands in for the ranker variant: one request scores {CANDIDATES} candidates (one "
        f"inference). gunicorn serves it from {WORKERS} sync worker processes (one per core, "
        "as the scenario's ranker profiles have one worker per vCPU; here the m5.large shape, "
        "2 workers), `torch.set_num_threads(1)` in each, one shared listen socket: one FCFS "
        f"queue for c = {WORKERS} servers.",
        "",
        f"**Service time**, closed loop, {len(service_s)} requests one at a time, client-side "
        "(new connection, HTTP, inference):",
        "",
        "| | mean | p50 | p95 | p99 | CV |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in (("HTTP request (used as 1/mu)", service_s), ("inference alone", inference_s)):
        p = np.percentile(s, PERCENTILES)
        lines.append(
            f"| {name} | {ms(s.mean())} ms | {ms(p[0])} | {ms(p[1])} | {ms(p[2])} | "
            f"{s.std() / s.mean():.2f} |"
        )
    lines += [
        "",
        f"**Load.** `{TRACE.relative_to(ROOT)}` (read by `simulation.trace.load_trace`), "
        f"{MINUTES_PER_LEVEL} consecutive minutes per level from minute {TRACE_START_MIN}, "
        f"each segment scaled so its mean load is the target utilization of {WORKERS} workers "
        f"at the measured mean; Poisson arrivals within each minute (seed {SEED}), sent at "
        "their scheduled times whatever the answers (asyncio + aiohttp, one connection per "
        "request, no client-side limit). A response time runs from the scheduled send to the "
        "full answer, so a late send counts against the server, not for it.",
        "",
        "**Model.** For each minute, `optimization.queueing` as `simulation.metrics` uses it: "
        "`wait_probability` (Erlang C), `response_survival` and `mixture_quantile`, with "
        f"c = {WORKERS}, lambda = the minute's realized arrivals / 60 s, mu = 1 / mean service "
        f"time. The model assumes exponential service times (CV 1); the measured CV is {cv:.2f}.",
        "",
        "## Model against measured, per utilization level",
        "",
        "Per-minute percentiles averaged over the level's minutes; error = (model - measured)"
        " / measured, positive where the model is pessimistic. `FCFS, measured service` is "
        "the same arrivals through an ideal c-server FCFS queue with service times drawn from "
        "the measured ones: the error the exponential assumption alone explains.",
        "",
        "| target rho | realized rho | measured p50 / p95 / p99 ms | model p50 / p95 / p99 ms |"
        " error p50 | error p95 | error p99 | FCFS, measured service, p50 / p95 / p99 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for lv in levels:
        meas, mod, fc = lv.measured_s.mean(0), lv.model_s.mean(0), lv.fcfs_s.mean(0)
        err = relative_error(mod, meas)
        rho = float(lv.rates_rps.mean()) * mean_s / WORKERS
        lines.append(
            f"| {lv.target:g} | {rho:.2f} | {' / '.join(ms(x) for x in meas)} | "
            f"{' / '.join(ms(x) for x in mod)} | {' | '.join(pct(e) for e in err)} | "
            f"{' / '.join(ms(x) for x in fc)} |"
        )
    lines += ["", *reading_lines(levels, service_s, inference_s)]
    lines += [
        "## Per minute",
        "",
        "| level | minute | rate req/s | rho | measured p50 / p95 / p99 ms | model p50 / p95 / p99"
        " ms | error p99 | failed, whole level |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for lv in levels:
        for k, rate in enumerate(lv.rates_rps):
            err = relative_error(lv.model_s[k], lv.measured_s[k])
            lines.append(
                f"| {lv.target:g} | {k} | {rate:.1f} | {rate * mean_s / WORKERS:.2f} | "
                f"{' / '.join(ms(x) for x in lv.measured_s[k])} | "
                f"{' / '.join(ms(x) for x in lv.model_s[k])} | {pct(err[2])} | "
                f"{int((~lv.replay.ok).sum()) if k == 0 else ''} |"
            )
    lines += [
        "",
        "## Is the generator the bottleneck?",
        "",
        "The generator records when it actually sent each request; its lag behind the schedule "
        "and its own CPU time (share of one core over the replay) say whether it kept up. The "
        "workers report their inference time with each answer: against the closed-loop "
        f"{ms(float(inference_s.mean()))} ms it shows what sharing the cores costs the service.",
        "",
        "| level | requests | send lag p50 / p99 / max ms | generator CPU, share of a core |"
        " inference mean under load ms |",
        "|---|---|---|---|---|",
    ]
    for lv in levels:
        lag = lv.replay.send_lag_s
        p = np.percentile(lag, [50, 99])
        lines.append(
            f"| {lv.target:g} | {len(lag)} | {ms(p[0])} / {ms(p[1])} / {ms(lag.max())} | "
            f"{lv.replay.cpu_s / lv.replay.wall_s:.2f} | "
            f"{ms(float(np.nanmean(lv.replay.inference_s)))} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Measure, replay every level, write docs/benchmarks/fidelity.md."""
    started, t0 = datetime.now(UTC), time.perf_counter()
    trace = load_trace(TRACE, step_s=60, peak_rps=1.0).rps
    levels = []
    with serve_model(WORKERS) as port:
        service_s, inference_s = measure_service(port)
        print(f"service mean {service_s.mean() * 1000:.2f} ms", flush=True)
        for i, target in enumerate(UTILIZATIONS):
            begin = TRACE_START_MIN + i * MINUTES_PER_LEVEL
            segment = trace[begin : begin + MINUTES_PER_LEVEL]
            levels.append(run_level(port, target, segment, service_s, SEED + i))
            print(f"level {target}: p99 ms {levels[-1].measured_s[:, 2] * 1000}", flush=True)
            time.sleep(2)  # let the queue drain between levels
    run = {
        "started": started,
        "runtime_s": time.perf_counter() - t0,
        "gunicorn": version("gunicorn"),
    }
    OUTPUT.write_text(render(levels, service_s, inference_s, run))
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
