"""The latency model against a real service: a torch MLP ranker served by gunicorn, open loop.

Run from the repository root:

    .venv/bin/python -m benchmarks.fidelity

It writes docs/benchmarks/fidelity.md; every number in it is computed here. It starts gunicorn
with one sync worker (benchmarks/fidelity_app.py, one thread) pinned to CPU 1 and pins this
process, the load generator, to CPU 0, so c = 1 and the comparison is M/G/1. It measures the
service time as the server runs it (the gaps between a busy worker's request starts), then
replays minutes of the NASA HTTP trace scaled to each target utilization, open loop, Poisson
within each minute, REPEATS times per level. Each replay's p50/p95/p99 is set against the
simulator's prediction (optimization.queueing, as simulation.metrics uses it) for the
minute's arrival rate and the measured mean and CV of the service time. Last, the policies
are ranked on a day of the trace with the model's latencies and with the measured ones
(benchmarks/fidelity_ranking.py).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import pickle
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.fidelity_app import CANDIDATES, FEATURES, HIDDEN
from benchmarks.fidelity_load import (
    PERCENTILES,
    Replay,
    model_percentiles_s,
    poisson_schedule,
    queued_cycles_s,
    relative_error,
    replay_schedule,
    scale_to_utilization,
    simulate_fcfs_s,
)
from benchmarks.fidelity_ranking import (
    Agreement,
    MeasuredLatency,
    agreement,
    rank_policies,
    ranks,
    served_scenario,
)
from simulation.trace import load_trace

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "benchmarks" / "fidelity.md"
COMMAND = ".venv/bin/python -m benchmarks.fidelity"
RESULTS = ROOT / "var" / "fidelity.pickle"  # the last run's raw results, for --render
TRACE = ROOT / "data" / "traces" / "nasa_http_1995-07_1min.csv"
# 1995-07-06 16:16 UTC: a steady stretch of the trace (its minutes within 4 % of their mean).
TRACE_START_MIN = 7936
WORKERS = 1  # c = 1: the other core is the generator's
SERVER_CPU, GENERATOR_CPU = 1, 0
UTILIZATIONS = (0.3, 0.5, 0.7, 0.8, 0.85, 0.9)
REPEATS = int(os.environ.get("FIDELITY_REPEATS", "3"))
MINUTE_S = float(os.environ.get("FIDELITY_MINUTE_S", "60"))
SERVICE_SAMPLES = 1000
CALIBRATION_RHO, CALIBRATION_S = 0.7, 30.0  # the replay that measures the worker's cycle
SEED = 25
RT_PRIORITY = 10  # the server and the generator run SCHED_FIFO (`chrt`), see serve_model
TARGET_ERROR = 0.2  # issue #25: p99 within 20 % up to rho 0.85
# The ranking: one day of the trace (July 2), peak scaled so a busy hour needs ~10 workers,
# and a p99 target of 7 service times, as the default scenario's 100 ms is for 14 ms.
RANK_DAY = 1
RANK_PEAK_RPS = 1200.0
RANK_TARGET_SERVICES = 7.0


@dataclass(frozen=True, slots=True)
class Service:
    """The service time three ways, seconds: client round trip, worker cycle, inference."""

    round_trip_s: np.ndarray  # closed loop, one request at a time, seen by the client
    inference_s: np.ndarray  # the forward pass alone, closed loop
    cycle_s: np.ndarray  # the worker's time per request, calibration replay (`queued_cycles_s`)

    @property
    def mean_s(self) -> float:
        """1 / mu: the busy worker's mean time per request."""
        return float(self.cycle_s.mean())

    @property
    def cv(self) -> float:
        """Coefficient of variation of the worker's time per request."""
        return float(self.cycle_s.std() / self.cycle_s.mean())

    @property
    def outside_s(self) -> float:
        """Time a request spends outside the worker: median round trip less median cycle."""
        return max(0.0, float(np.median(self.round_trip_s) - np.median(self.cycle_s)))


@dataclass(frozen=True, slots=True)
class Run:
    """One replay of one level: its arrivals, measured and predicted percentiles."""

    target: float
    repeat: int
    rate_rps: float  # realized arrivals / MINUTE_S
    measured_s: np.ndarray  # (len(PERCENTILES),)
    model_s: np.ndarray  # M/G/1 with the measured mean and CV, plus the time outside
    mm1_s: np.ndarray  # the old model: M/M/1, mean only
    fcfs_s: np.ndarray  # an ideal FCFS queue fed the measured cycles, same arrivals
    cycle_mean_s: float  # the worker's cycle during this replay (`queued_cycles_s`)
    cycle_cv: float
    model_load_s: np.ndarray  # M/G/1 with the cycle during this replay, plus the time outside
    replay: Replay
    load_avg: float  # the machine's 1-minute load average after the replay


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
def serve_model(workers: int, cpu: int) -> Iterator[int]:
    """Run gunicorn pinned to `cpu` on a free loopback port, stopped on exit; yields the port."""
    port = free_port()
    # SCHED_FIFO: the machine's other work (it is shared) cannot preempt the worker on its
    # core; the kernel's RT throttling still leaves it 5 % of each second.
    realtime = os.sched_getscheduler(0) == os.SCHED_FIFO  # main() got it: root may
    cmd = ["taskset", "-c", str(cpu)]
    cmd += ["chrt", "--fifo", str(RT_PRIORITY)] if realtime else []
    cmd += [sys.executable, "-m", "gunicorn"]
    cmd += ["--workers", str(workers), "--worker-class", "sync"]
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


def measure_service(port: int) -> Service:
    """Closed loop (round trip, inference), then a calibration replay for the worker's cycle.

    Not a saturating burst: a worker that never idles is throttled by the kernel (SCHED_FIFO
    gets at most 95 % of each second), which would stretch the cycles it measures.
    """
    for _ in range(200):  # warm the worker's caches and allocator
        get(port)
    samples = [get(port) for _ in range(SERVICE_SAMPLES)]
    round_trip = np.array([s for s, _ in samples])
    rate = CALIBRATION_RHO / float(round_trip.mean())
    schedule = poisson_schedule([rate], CALIBRATION_S, SEED - 1)
    calibration = replay_schedule(f"http://127.0.0.1:{port}/", schedule.send_s)
    return Service(
        round_trip, np.array([us for _, us in samples]) / 1e6, queued_cycles_s(calibration)
    )


def run_level(
    port: int, target: float, repeat: int, trace_rps: np.ndarray, service: Service
) -> Run:
    """Replay one minute of the trace scaled to `target` and predict its percentiles."""
    rates = scale_to_utilization(trace_rps, target, WORKERS, service.mean_s)
    seed = SEED + 100 * repeat + round(100 * target)
    schedule = poisson_schedule(list(rates), MINUTE_S, seed)
    replay = replay_schedule(f"http://127.0.0.1:{port}/", schedule.send_s)
    rate = len(schedule.send_s) / MINUTE_S
    measured = np.percentile(replay.response_s, PERCENTILES)
    model = model_percentiles_s(
        rate, WORKERS, service.mean_s, PERCENTILES, service.cv, service.outside_s
    )
    mm1 = model_percentiles_s(rate, WORKERS, service.mean_s, PERCENTILES)
    draws = np.random.default_rng(seed).choice(service.cycle_s, len(schedule.send_s))
    fcfs = np.percentile(simulate_fcfs_s(schedule.send_s, draws, WORKERS), PERCENTILES)
    cycles = queued_cycles_s(replay)
    mean_s, cv = float(cycles.mean()), float(cycles.std() / cycles.mean())
    model_load = (
        model_percentiles_s(rate, WORKERS, mean_s, PERCENTILES, cv, service.outside_s)
        if rate * mean_s < 1
        else np.full(len(PERCENTILES), np.inf)
    )
    return Run(
        target,
        repeat,
        rate,
        measured,
        model,
        mm1,
        fcfs,
        mean_s,
        cv,
        model_load,
        replay,
        os.getloadavg()[0],
    )


def ms(x: float) -> str:
    """Milliseconds to one decimal."""
    return f"{x * 1000:.1f}"


def pct(x: float) -> str:
    """A relative error as a signed percentage."""
    return f"{x * 100:+.0f} %"


def trio(values: np.ndarray) -> str:
    """p50 / p95 / p99 in milliseconds."""
    return " / ".join(ms(float(x)) for x in values)


def level_medians(runs: list[Run], target: float) -> dict[str, np.ndarray]:
    """Medians over a level's repeats of each percentile, measured and predicted."""
    mine = [r for r in runs if r.target == target]
    return {
        key: np.median([getattr(r, key) for r in mine], axis=0)
        for key in ("measured_s", "model_s", "mm1_s", "fcfs_s", "model_load_s")
    } | {
        key: np.median([getattr(r, key) for r in mine])
        for key in ("rate_rps", "cycle_mean_s", "cycle_cv")
    }


def render_setup(service: Service, run: dict[str, Any]) -> list[str]:
    """The header: command, machine, service, service time, load and model."""
    lines = [
        "# Latency model fidelity: M/G/1 against a served torch model",
        "",
        f"Command: `{COMMAND}` (also run by `make bench`). Run on {run['started']:%Y-%m-%d %H:%M}"
        f" UTC in {run['runtime_s'] / 60:.1f} min. Machine: {platform.machine()}, "
        f"{os.cpu_count()} vCPUs, no GPU; Python {platform.python_version()}, torch "
        f"{torch.__version__} (CPU), gunicorn {run['gunicorn']}. The machine is shared: its "
        f"1-minute load average ran {run['load_min']:.1f}-{run['load_max']:.1f} during the "
        "replays (other work on the same 2 cores; pinning keeps this benchmark's own "
        "processes apart, not theirs).",
        "",
        f"**Service.** A small MLP ({FEATURES} -> {' -> '.join(map(str, HIDDEN))} -> 1, ReLU) "
        f"stands in for the ranker variant: one request scores {CANDIDATES} candidates (one "
        f"inference). gunicorn serves it from {WORKERS} sync worker process pinned to CPU "
        f"{SERVER_CPU} (`taskset`), `torch.set_num_threads(1)`; the load generator (this "
        f"process, asyncio + aiohttp) is pinned to CPU {GENERATOR_CPU} "
        "(`os.sched_setaffinity`). "
        + (
            f"Both run SCHED_FIFO (priority {RT_PRIORITY}), so the machine's other work "
            "waits while they run. "
            if run.get("realtime", True)
            else "Both run at the default priority (SCHED_FIFO needs root). "
        )
        + "One worker, one FCFS queue: M/G/1.",
        "",
        "**Service time**, three ways:",
        "",
        "| | mean | p50 | p95 | p99 | CV |",
        "|---|---|---|---|---|---|",
    ]
    rows = (
        (
            f"worker's cycle per request with one waiting ({len(service.cycle_s)} in a "
            f"{CALIBRATION_S:g} s calibration replay at rho ~{CALIBRATION_RHO:g}; used as "
            "1/mu and CV)",
            service.cycle_s,
        ),
        (
            f"client round trip, closed loop ({len(service.round_trip_s)} one at a time)",
            service.round_trip_s,
        ),
        ("inference alone, closed loop", service.inference_s),
    )
    for name, x in rows:
        q = np.percentile(x, PERCENTILES)
        lines.append(
            f"| {name} | {ms(float(x.mean()))} ms | {trio(q)} | {x.std() / x.mean():.2f} |"
        )
    lines += [
        "",
        "The worker's cycle is what the queue sees: where a request was sent before the one "
        "ahead of it finished its inference, the gap between the two requests' starts "
        "(X-Start-Ns, CLOCK_MONOTONIC, the same clock as the generator's sends) is one "
        "request's answer, close, accept, parse and inference. The round trip adds the "
        "client's side of the connection, which does not hold the worker; its median less "
        "the cycle's, "
        f"{ms(service.outside_s)} ms, is added to every predicted response time.",
        "",
        f"**Load.** `{TRACE.relative_to(ROOT)}` (read by `simulation.trace.load_trace`): "
        f"level i replays minute {TRACE_START_MIN} + i, scaled so its load is the target "
        f"utilization of the worker at the measured cycle, {MINUTE_S:g} s of Poisson arrivals, "
        f"sent at their scheduled times whatever the answers (one connection per request, no "
        f"client-side limit); {REPEATS} repeats per level with their own seeds, the levels "
        "interleaved (repeat 1 of every level, then repeat 2, ...). A response time runs "
        "from the scheduled send to the full answer, so a late send counts against the "
        "server.",
        "",
        "**Model.** `optimization.queueing` as `simulation.metrics` uses it: Erlang C "
        "(`wait_probability`), `response_survival` with the service CV (Allen-Cunneen: the "
        "M/M/c wait scaled by (1 + cv^2)/2; service a shifted exponential with the measured "
        "mean and CV) and `mixture_quantile`, for c = 1, lambda = the replay's realized "
        f"arrivals / {MINUTE_S:g} s, mu = 1 / mean cycle, cv = {service.cv:.2f}, plus the "
        f"{ms(service.outside_s)} ms outside the worker.",
        "",
    ]
    return lines


def render_levels(runs: list[Run], service: Service) -> list[str]:
    """The headline table (medians over repeats) and the target's verdict."""
    lines = [
        "## Model against measured, per utilization level",
        "",
        f"Medians over the {REPEATS} repeats; error = (model - measured) / measured, positive "
        "where the model is pessimistic. `M/M/1` is the model before the service CV (mean "
        "only, exponential); `FCFS, measured cycles` is the same arrivals through an ideal "
        "FCFS queue with service times drawn from the measured cycles.",
        "",
        "| target rho | realized rho | measured p50 / p95 / p99 ms | M/G/1 model p50 / p95 / "
        "p99 ms | error p50 | error p95 | error p99 | within 20 % | M/M/1 p99 ms (error) | "
        "FCFS, measured cycles, p50 / p95 / p99 ms | cycle under load ms (CV), rho | "
        "M/G/1 with it, p99 ms (error) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for target in UTILIZATIONS:
        m = level_medians(runs, target)
        err = relative_error(m["model_s"], m["measured_s"])
        old = float(relative_error(m["mm1_s"], m["measured_s"])[2])
        ok = "yes" if abs(err[2]) <= TARGET_ERROR else "no"
        lines.append(
            f"| {target:g} | {float(m['rate_rps']) * service.mean_s:.2f} | {trio(m['measured_s'])} "
            f"| {trio(m['model_s'])} | {' | '.join(pct(float(e)) for e in err)} | "
            f"{ok if target <= 0.85 else ok + ' (not required)'} | "
            f"{ms(float(m['mm1_s'][2]))} ({pct(old)}) | {trio(m['fcfs_s'])} | "
            f"{ms(float(m['cycle_mean_s']))} ({float(m['cycle_cv']):.2f}), "
            f"{float(m['rate_rps'] * m['cycle_mean_s']):.2f} | "
            f"{ms(float(m['model_load_s'][2]))} "
            f"({pct(float(relative_error(m['model_load_s'], m['measured_s'])[2]))}) |"
        )
    return [*lines, ""]


def render_runs(runs: list[Run], service: Service) -> list[str]:
    """Every replay: rate, percentiles, error, generator lag and CPU, inference, load."""
    lines = [
        "## Every replay",
        "",
        "Send lag: the generator's actual send less the scheduled one. Generator CPU: its "
        "share of one core over the replay. Inference: the worker's forward pass under load, "
        f"against {ms(float(service.inference_s.mean()))} ms closed loop.",
        "",
        "| level | repeat | rate req/s | measured p50 / p95 / p99 ms | model p50 / p95 / p99 ms"
        " | error p99 | failed | send lag p99 / max ms | generator CPU | inference mean ms | "
        "cycle under load ms (CV, samples) | load average |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(runs, key=lambda r: (r.target, r.repeat)):
        lag = r.replay.send_lag_s
        err = float(relative_error(r.model_s, r.measured_s)[2])
        lines.append(
            f"| {r.target:g} | {r.repeat + 1} | {r.rate_rps:.1f} | {trio(r.measured_s)} | "
            f"{trio(r.model_s)} | {pct(err)} | {int((~r.replay.ok).sum())} | "
            f"{ms(float(np.percentile(lag, 99)))} / {ms(float(lag.max()))} | "
            f"{r.replay.cpu_s / r.replay.wall_s:.2f} | "
            f"{ms(float(np.nanmean(r.replay.inference_s)))} | {ms(r.cycle_mean_s)} "
            f"({r.cycle_cv:.2f}, {len(queued_cycles_s(r.replay))}) | {r.load_avg:.1f} |"
        )
    return [*lines, ""]


def render_ranking(rows: list[dict[str, Any]], scenario_note: str) -> list[str]:
    """The policies ranked by violations and by p99, with model and measured latencies."""
    names = [str(r["policy"]) for r in rows]
    out = {}
    for key in ("violation", "p99_s"):
        model = ranks([float(r[f"model_{key}"]) for r in rows])
        meas = ranks([float(r[f"measured_{key}"]) for r in rows])
        out[key] = (model, meas)
    same_v = out["violation"][0] == out["violation"][1]
    same_p = out["p99_s"][0] == out["p99_s"][1]
    tied_p99 = max(out["p99_s"][0].count(k) for k in set(out["p99_s"][0]))
    top_v = [names[out["violation"][0].index(k)] for k in (1, 2) if k in out["violation"][0]]
    top_m = [names[out["violation"][1].index(k)] for k in (1, 2) if k in out["violation"][1]]
    lines = [
        "## The policy ranking, model latencies against measured ones",
        "",
        scenario_note,
        "",
        "| policy | mean replicas | SLA violations, model | measured | rank model / measured"
        " | p99 ms, model | measured | rank model / measured | requests above the top "
        "level's rho |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(rows):
        lines.append(
            f"| {names[i]} | {float(r['mean_replicas']):.1f} | "
            f"{float(r['model_violation']):.4%} | {float(r['measured_violation']):.4%} | "
            f"{out['violation'][0][i]} / {out['violation'][1][i]} | "
            f"{ms(float(r['model_p99_s']))} | {ms(float(r['measured_p99_s']))} | "
            f"{out['p99_s'][0][i]} / {out['p99_s'][1][i]} | {float(r['above_top']):.2%} |"
        )

    def moved(key: str) -> str:
        """': a r1 -> r2, ...' for the policies whose rank by `key` moved; '' if none did."""
        changes = [
            f"{names[i]} {a} -> {b}"
            for i, (a, b) in enumerate(zip(*out[key], strict=True))
            if a != b
        ]
        return ": " + ", ".join(changes) if changes else ""

    model_v = [float(r["model_violation"]) for r in rows]
    repeats = list(zip(*(r["repeat_violation"] for r in rows), strict=True))
    agree = agreement(names, model_v, [float(r["measured_violation"]) for r in rows], repeats)
    lines += [
        "",
        f"- **By SLA violations** the ranking is {'the same' if same_v else 'not the same'} "
        "with measured latencies"
        + moved("violation")
        + f". Kendall's tau between the two orders is {agree.model_tau:.2f}; the model's "
        f"first two, {' and '.join(top_v)}, are the measured first two as well: "
        f"{' and '.join(top_m)}. Measured violations are higher than the model's for every "
        "policy that sizes for the SLA: the measured tails carry the replays whose service "
        "ran slow (see Reading), and these policies run their replicas where p99 is near "
        "the target, where that shows most.",
        f"- **By p99** the ranking is {'the same' if same_p else 'not the same'} ("
        f"{tied_p99} policies tie: their p99 is the functions' fixed duration, the same "
        "in both)" + moved("p99_s") + ".",
        "",
        *render_noise(names, rows, repeats, agree),
    ]
    return lines


def render_noise(
    names: list[str],
    rows: list[dict[str, Any]],
    repeats: list[tuple[float, ...]],
    agree: Agreement,
) -> list[str]:
    """The measured order per repeat, and the model's agreement against the repeats' own."""
    per_repeat = [ranks(list(r)) for r in repeats]
    lines = [
        "### How far the measurement itself can rank",
        "",
        "The same replays once more, with each repeat's measured response times alone in "
        "place of the pooled ones: the ranking a single measurement would have given.",
        "",
        "| policy | SLA violations, model (rank) | "
        + " | ".join(f"repeat {k + 1} (rank)" for k in range(len(repeats)))
        + " |",
        "|---|---|" + "---|" * len(repeats),
    ]
    model_ranks = ranks([float(r["model_violation"]) for r in rows])
    for i, name in enumerate(names):
        cells = [f"{repeats[k][i]:.4%} ({per_repeat[k][i]})" for k in range(len(repeats))]
        lines.append(
            f"| {name} | {float(rows[i]['model_violation']):.4%} ({model_ranks[i]}) | "
            + " | ".join(cells)
            + " |"
        )
    bound = float(np.median(agree.repeat_taus))

    def taus(values: tuple[float, ...]) -> str:
        return ", ".join(f"{v:.2f}" for v in values)

    model = {n: float(r["model_violation"]) for n, r in zip(names, rows, strict=True)}
    misordered = "; ".join(  # in the model's order, with how far apart the model puts them
        f"{a} ahead of {b} ({abs(model[b] - model[a]) * 100:.4f} points apart)"
        for a, b in agree.misordered
    )
    lines += [
        "",
        f"- **The bound.** Two repeats of the same measurement rank the policies with "
        f"Kendall's tau {taus(agree.repeat_taus)} between each other (median {bound:.2f}): "
        "a measured ranking on this machine is reproducible to that, and no model can be "
        "held to more. The model against each repeat: "
        f"{taus(agree.model_repeat_taus)}; against the pooled measurement "
        f"{agree.model_tau:.2f}, "
        + (
            "at or above the bound: **the target is met at the bound** (issue #25)."
            if agree.within_noise
            else "below the bound: **the target is missed** (issue #25)."
        ),
        f"- **The pairs the measurement resolves.** Every repeat orders {agree.resolved} of "
        f"the {agree.pairs} pairs of policies the same way; the model orders "
        f"{agree.resolved - len(agree.misordered)} of them that way too"
        + (
            f" and not these, which it puts the other way round: {misordered}."
            if misordered
            else "."
        )
        + " The other pairs swap between repeats: their order is within the noise.",
        "",
    ]
    return lines


def measured_latency(runs: list[Run], service: Service) -> MeasuredLatency:
    """The response times of `runs` pooled per level, at the level's median measured rho."""
    levels = sorted({r.target for r in runs})
    pooled = [
        np.sort(np.concatenate([r.replay.response_s for r in runs if r.target == t]))
        for t in levels
    ]
    rho = [0.0] + [
        float(np.median([r.rate_rps for r in runs if r.target == t])) * service.mean_s
        for t in levels
    ]
    return MeasuredLatency(np.array(rho), (np.sort(service.round_trip_s), *pooled))


def ranking(runs: list[Run], service: Service) -> tuple[list[dict[str, Any]], str]:
    """Replay the policies on a day of the trace; latencies from the model and as measured."""
    measured = measured_latency(runs, service)
    repeats = [
        measured_latency([r for r in runs if r.repeat == k], service)
        for k in sorted({r.repeat for r in runs})
    ]
    service_ms = service.mean_s * 1000
    target_ms = round(RANK_TARGET_SERVICES * service_ms)
    scenario = served_scenario(
        service_ms,
        service.cv,
        load_balancer="round_robin",
        latency_target_ms=float(target_ms),
        peak_rps=RANK_PEAK_RPS,
    )
    load = load_trace(TRACE, step_s=scenario.step_s, peak_rps=scenario.peak_rps)
    day = slice(RANK_DAY * 1440, (RANK_DAY + 1) * 1440)
    load = replace(load, rps=load.rps[day], start_s=load.start_s + day.start * 60)
    rows = rank_policies(load, scenario, measured, seed=0, repeats=repeats)
    note = (
        f"Every policy of `simulation.compare` on day {RANK_DAY + 1} of the trace (1,440 "
        f"minutes), the default scenario with one variant whose replica is one worker of the "
        f"served model ({service_ms:.2f} ms, CV {service.cv:.2f}), round robin (each replica "
        f"its own M/G/1 queue, as measured here), the trace's peak scaled to "
        f"{RANK_PEAK_RPS:g} req/s and a p99 target of {target_ms} ms "
        f"({RANK_TARGET_SERVICES:g} service times, as the default's 100 ms is for 14 ms). One "
        "replay per policy; its violations and p99 (`simulation.metrics.online_latency`) "
        "once with the model's P(R > t) and once with the response times measured above, "
        "pooled per level and interpolated in rho between levels (rho 0: the closed-loop "
        "round trip; above the top level: the top level's, and the last column says how "
        "many requests that concerns). Backlogged, dropped and serverless requests count "
        "alike in both."
    )
    return rows, note


def reading_lines(runs: list[Run], service: Service) -> list[str]:
    """What the tables say, each number computed from them."""
    up_to = [t for t in UTILIZATIONS if t <= 0.85]
    med = {t: level_medians(runs, t) for t in UTILIZATIONS}

    def p99_error(t: float, key: str) -> float:
        return float(relative_error(med[t][key], med[t]["measured_s"])[2])

    errors = {t: p99_error(t, "model_s") for t in UTILIZATIONS}
    misses = [t for t in up_to if abs(errors[t]) > TARGET_ERROR]
    old = [p99_error(t, "mm1_s") for t in up_to]
    lag = [float(np.percentile(r.replay.send_lag_s, 99)) for r in runs]
    per_run = [float(relative_error(r.model_s, r.measured_s)[2]) for r in runs]
    ratio = [r.cycle_mean_s / service.mean_s for r in runs]
    bad_ratio = sorted(x for x, e in zip(ratio, per_run, strict=True) if abs(e) > TARGET_ERROR)
    own = [
        float(relative_error(r.model_load_s, r.measured_s)[2])
        for r in runs
        if np.isfinite(r.model_load_s).all()
    ]
    lines = [
        "## Reading",
        "",
        f"- **Target** (issue #25: p99 within 20 % up to rho 0.85): the M/G/1 model's p99 "
        f"error runs from {pct(min(errors[t] for t in up_to))} to "
        f"{pct(max(errors[t] for t in up_to))} at the levels up to 0.85; within 20 % at "
        f"{len(up_to) - len(misses)} of {len(up_to)} levels"
        + (f" (missed at {', '.join(f'{t:g}' for t in misses)})." if misses else ".")
        + f" At 0.9, {pct(errors[0.9])}. The M/M/1 model (CV 1, what the simulator assumed "
        f"before) is off by {pct(min(old))} to {pct(max(old))} at the same levels: the "
        f"measured service CV, {service.cv:.2f}, is most of the difference.",
        "- **The service as the worker runs it.** The cycle per request (answer, close, "
        f"accept, parse, inference) is {ms(service.mean_s)} ms against "
        f"{ms(float(service.inference_s.mean()))} ms of inference: the HTTP stack's part "
        "of the service time, which the model must be given (the closed-loop inference alone "
        f"would put rho {(1 - float(service.inference_s.mean()) / service.mean_s) * 100:.0f} % "
        "low).",
        "- **Why single replays miss.** The medians meet the target; single replays do not "
        f"(p99 error {pct(min(per_run))} to {pct(max(per_run))}). The worker's cycle during "
        f"a replay ran {min(ratio):.2f}-{max(ratio):.2f} x the calibration's although "
        "nothing else ran on its core at a higher priority (what remains is shared: the "
        "memory system, the kernel's loopback work, the RT throttle); the replays missing "
        f"by more than 20 % had cycles {', '.join(f'{x:.2f}' for x in bad_ratio)} x the "
        "calibration's. Near saturation a few per cent of service rate is tens of per "
        "cent of p99 (p99 grows as 1/(1 - rho)): fed each replay's own cycle (last two "
        "columns of the level table; a replay whose own rho reached 1 has no prediction) "
        "the model is within 20 % in "
        f"{sum(abs(e) <= TARGET_ERROR for e in own)} of {len(own)} replays. The model's "
        "structure holds; its input, the service rate, moves on a shared machine by more "
        "than the tail forgives.",
        "- **The generator** (its own core, SCHED_FIFO) kept within "
        f"{ms(max(lag))} ms of its schedule at p99 in every replay.",
        "- **The approximation itself.** At c = 1 and CV near 0 the model is M/D/1 with an "
        "exponential conditional wait; against the exact M/D/1 law it is pessimistic by "
        "up to about 19 % at p99 at rho 0.3, 13 % at 0.5 and 8 % or less from 0.7 "
        "(tests/optimization/test_queueing.py computes the exact law, Erlang's formula).",
        "- **Two workers.** Not rerun: with two workers on this machine's two cores the "
        "generator shares their cores, which the previous version of this page measured "
        "(the server saturated from rho 0.85 whatever the queue model said); a c = 2 "
        "comparison needs a machine with a core to spare.",
        "",
    ]
    return lines


def main() -> None:
    """Measure, replay every level, rank the policies, write docs/benchmarks/fidelity.md."""
    started, t0 = datetime.now(UTC), time.perf_counter()
    os.sched_setaffinity(0, {GENERATOR_CPU})
    with contextlib.suppress(PermissionError):  # ahead of the machine's other work
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(RT_PRIORITY))
    trace = load_trace(TRACE, step_s=60, peak_rps=1.0).rps
    runs: list[Run] = []
    with serve_model(WORKERS, SERVER_CPU) as port:
        service = measure_service(port)
        print(f"cycle {service.mean_s * 1000:.2f} ms cv {service.cv:.3f}", flush=True)
        for repeat in range(REPEATS):
            for i, target in enumerate(UTILIZATIONS):
                minute = trace[TRACE_START_MIN + i : TRACE_START_MIN + i + 1]
                runs.append(run_level(port, target, repeat, minute, service))
                r = runs[-1]
                print(
                    f"{target} #{repeat}: p99 {ms(r.measured_s[2])} model "
                    f"{ms(r.model_s[2])} load {r.load_avg:.1f}",
                    flush=True,
                )
                time.sleep(2)  # let the queue drain between replays
    loads = [r.load_avg for r in runs]
    run = {
        "started": started,
        "runtime_s": time.perf_counter() - t0,
        "gunicorn": version("gunicorn"),
        "load_min": min(loads),
        "load_max": max(loads),
        "realtime": os.sched_getscheduler(0) == os.SCHED_FIFO,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_bytes(pickle.dumps((service, runs, run)))
    write_report(service, runs, run)


def write_report(service: Service, runs: list[Run], run: dict[str, Any]) -> None:
    """Rank the policies and render docs/benchmarks/fidelity.md from one run's measurements."""
    rows, note = ranking(runs, service)
    lines = render_setup(service, run) + render_levels(runs, service)
    lines += reading_lines(runs, service)
    lines += render_ranking(rows, note) + render_runs(runs, service)
    OUTPUT.write_text("\n".join(lines))
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    if "--render" in sys.argv:  # the last run's measurements again, ranked by today's code
        write_report(*pickle.loads(RESULTS.read_bytes()))
    else:
        main()
