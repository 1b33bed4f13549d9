"""Forecasts, plans and pulls per second with N worker processes; 10,000 workloads.

Run from the repository root (PostgreSQL and Redis binaries as for the tests):

    .venv/bin/python -m benchmarks.scale [--workloads 2] [--rounds 3] [--processes 1,2]

It starts PostgreSQL and Redis on free loopback ports (tests/servers.py), migrates a fresh
database, imports the shipped catalog and creates WORKLOADS online workloads with 14 days of
5-minute request counts (a daily cycle plus noise). For each N in PROCESSES it starts N Celery
worker processes (each its own `celery worker --pool=solo`, as N worker pods would run) and
measures, ROUNDS times, the same mix:

- forecasts: `request_forecasts` fans WORKLOADS `auto` forecasts (the default model) of the
  next day out as a Celery group; the time from dispatch until the last run is stored;
- plans: `request_plans` fans WORKLOADS plan chains out as a group; each finds the fresh
  stored forecast, builds the problem, sweeps the Pareto front, replays its candidate
  envelopes over the newest day (a chord, one part per point of the front) and proposes; the
  time from dispatch until the last plan is proposed.

A first forecast round for each N warms the new processes up (loading the model libraries) and
is not counted. Over every round it records the machine's CPU use (/proc/stat, all cores) and
the cores the worker processes used (their CPU seconds over the round's wall seconds).
With one process it also times metric pulls: SOURCES Prometheus metric sources (one per
workload, a loopback Prometheus serving per-minute points) pulled by `pull_all_metric_sources`
as beat sends it, ROUNDS times, each a first pull of the source's hour of lookback.

It writes docs/benchmarks/scale.md (up to its "Web process" section, which
benchmarks/web_start.py writes): the medians, whether N processes reach N times one's
throughput within 20 %, and the processes per queue that 10,000 workloads need.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks.servers import (
    bench_user,
    django_on_servers,
    online_workload,
    seconds,
    this_run,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "benchmarks" / "scale.md"
COMMAND = ".venv/bin/python -m benchmarks.scale"
QUEUES = "cpu,gpu,control,actuation,webhooks"
# Each worker's numerical libraries on one thread (the LSTM sets torch's itself), as a worker pod
# with one CPU should run them: N workers then ask for N cores, not N times what BLAS would take.
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
# Tasks per round: a multiple of every N, so no process is left a longer share. Two, and N up
# to 2, keep a run under half an hour on a busy 2-core machine, where an `auto` forecast took
# 50 s; `--workloads 6 --processes 1,2,3` on a quieter or bigger one.
WORKLOADS = 2
PROCESSES = (1, 2)
ROUNDS = 3
SOURCES = 200  # one chunk of BALLAST_METRIC_PULL_BATCH
PROMQL = 'sum(rate(http_requests_total{service="{workload}"}[1m]))'
TARGET_WORKLOADS = 10_000
PLAN_PERIOD_S = 15 * 60
FORECAST_PERIOD_S = 3600
PULL_PERIOD_S = 60
CONTROL_PERIOD_S = 60
SCALING_TOLERANCE = 0.20
HISTORY_DAYS = 14
STEP_S = 300
# docs/benchmarks/control.md (benchmarks/control.py): 1,000 controllers' steady minute on one
# worker process took 43.2 s (median), 23 control steps per second.
CONTROL_STEPS_PER_S = 1000 / 43.2
WEB_HEADING = "## Web process"
WORKER_PIDS: list[int] = []  # the worker processes running now (`workers`), for `timed`


@dataclass
class Round:
    """One round's wall seconds, the machine's CPU use (0..1 of all cores) and the workers' cores.

    `worker_cores`: CPU seconds the worker processes (and the children they waited for) used
    over the round, divided by its wall seconds: 2.0 is two cores kept busy the whole round.
    """

    seconds: float
    busy: float
    worker_cores: float


@dataclass
class Results:
    """Everything measured, by number of worker processes."""

    forecasts: dict[int, list[Round]] = field(default_factory=dict)
    plans: dict[int, list[Round]] = field(default_factory=dict)
    pulls: list[Round] = field(default_factory=list)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    commit: str = ""
    workloads: int = WORKLOADS


def main() -> int:
    """Start the servers, set Django up against them, measure, write the document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="rounds per task and N")
    parser.add_argument("--workloads", type=int, default=WORKLOADS, help="tasks per round")
    parser.add_argument(
        "--processes", default=",".join(map(str, PROCESSES)), help="values of N, 1 first"
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.processes.split(",")]
    assert counts[0] == 1, "N = 1 comes first: the other rates are compared with it"
    results = Results(load_before=os.getloadavg(), commit=commit(), workloads=args.workloads)
    with django_on_servers("ballast-scale-") as var, prometheus() as server:
        user, workloads = make_workloads(args.workloads)
        sources = make_sources(server)
        os.environ["BALLAST_PROMETHEUS_HOSTS"] = "127.0.0.1"  # read by the workers' settings
        for n in counts:
            with workers(var, n):
                measure_forecasts(workloads, user)  # warm-up: every process loads its models
                results.forecasts[n], results.plans[n] = [], []
                for _ in range(args.rounds):
                    results.forecasts[n].append(measure_forecasts(workloads, user))
                    results.plans[n].append(measure_plans(workloads, user))
                    print(n, results.forecasts[n][-1], results.plans[n][-1], flush=True)
                if n == 1:
                    results.pulls = [measure_pulls(sources) for _ in range(args.rounds)]
                    print("pulls", results.pulls, flush=True)
    results.load_after = os.getloadavg()
    write_document(document(results))
    print(OUTPUT.read_text())
    return 0


def commit() -> str:
    """The commit measured, marked when the working tree differs from it."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=ROOT).returncode != 0
    return head + (" with uncommitted changes" if dirty else "")


def make_workloads(count: int):
    """`count` online workloads with SLA, a variant on c6i.xlarge and 14 days of history."""
    team, user = bench_user()
    steps = HISTORY_DAYS * 86_400 // STEP_S
    end = datetime(2026, 11, 1, tzinfo=UTC)
    workloads = []
    for i in range(count):
        rng = np.random.default_rng(i)
        t = np.arange(steps)
        load = 30_000 * (1 + 0.6 * np.sin(2 * np.pi * t * STEP_S / 86_400 + i))
        load = np.clip(load + rng.normal(0, 1500, steps), 0, None)
        workloads.append(online_workload(team, f"w{i}", load, step_s=STEP_S, end=end))
    return user, workloads


@contextlib.contextmanager
def prometheus() -> Iterator:
    """The tests' Prometheus HTTP API on loopback (apps/workloads/tests/prometheus_server.py)."""
    from apps.workloads.tests.prometheus_server import PrometheusServer

    server = PrometheusServer().start()
    try:
        yield server
    finally:
        server.stop()


def make_sources(server) -> list[int]:
    """SOURCES workloads, each with a per-minute Prometheus source of two hours of points."""
    from apps.accounts.models import Team
    from apps.workloads.models import MetricSource, Workload

    team = Team.objects.create(slug="pulls", name="Pulls")
    now = int(time.time()) // 60 * 60
    ids = []
    for i in range(SOURCES):
        workload = Workload.objects.create(team=team, name=f"p{i}", kind="online")
        query = PROMQL.replace("{workload}", workload.name)
        server.add_series(query, [(now - 60 * k, 100.0 + k % 7) for k in range(120)])
        source = MetricSource.objects.create(
            workload=workload,
            series="requests",
            base_url=server.url,
            promql=PROMQL,
            step_s=60,
            lookback_h=1,
        )
        ids.append(source.pk)
    return ids


@contextlib.contextmanager
def workers(var: str, n: int) -> Iterator[list[subprocess.Popen]]:
    """N worker processes (solo pool each) on QUEUES, all answering a ping before this yields."""
    from controlplane.celery import app

    processes = []
    try:
        for i in range(n):
            log = open(Path(var) / f"worker-{n}-{i}.log", "w")  # noqa: SIM115
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "controlplane", "worker", "-Q", QUEUES]
                    + ["--pool=solo", f"--hostname=scale{i}@%h", "--without-gossip"]
                    + ["--without-mingle", "-l", "WARNING"],
                    cwd=ROOT,
                    env=os.environ | ONE_THREAD,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        WORKER_PIDS[:] = [p.pid for p in processes]
        deadline = time.monotonic() + 120
        while len(app.control.ping(timeout=1.0)) < n:
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise RuntimeError(f"workers did not start: see {var}/worker-{n}-*.log")
        yield processes
    finally:
        WORKER_PIDS.clear()
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)


def cpu_times() -> tuple[int, int]:
    """(idle, total) jiffies of all cores since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return values[3] + values[4], sum(values)  # idle + iowait


def worker_jiffies() -> int:
    """CPU jiffies the current worker processes used, with the children they waited for."""
    total = 0
    for pid in WORKER_PIDS:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return total


@contextlib.contextmanager
def timed() -> Iterator[list[Round]]:
    """Time the block and the CPU use over it; the Round lands in the yielded list."""
    out: list[Round] = []
    idle, total = cpu_times()
    used = worker_jiffies()
    started = time.monotonic()
    yield out
    elapsed = time.monotonic() - started
    idle_after, total_after = cpu_times()
    busy = 1 - (idle_after - idle) / max(1, total_after - total)
    cores = (worker_jiffies() - used) / os.sysconf("SC_CLK_TCK") / elapsed
    out.append(Round(elapsed, busy, cores))


def measure_forecasts(workloads, user) -> Round:
    """A round of `auto` forecasts, one per workload, sent as a group, until all are stored."""
    from apps.forecasts.models import ForecastRun
    from apps.forecasts.services import request_forecasts

    with timed() as out:
        runs = request_forecasts(
            workloads,
            series="requests",
            model="auto",
            horizon=86_400 // STEP_S,
            quantiles=[0.5, 0.9, 0.99],
            seed=0,
            by=user,
        )
        ids = [run.pk for run in runs]
        unfinished = ["queued", "running"]
        wait_for(lambda: not ForecastRun.objects.filter(pk__in=ids, status__in=unfinished))
    failed = ForecastRun.objects.filter(pk__in=ids).exclude(status="succeeded")
    assert not failed.exists(), list(failed.values_list("message", flat=True))
    return out[0]


def measure_plans(workloads, user) -> Round:
    """A round of plan chains, one per workload, dispatched as a group, until all are proposed."""
    from apps.plans.models import ScalingPlan
    from apps.plans.services import request_plans

    with timed() as out:
        plans = request_plans(workloads, by=user, via="api")
        ids = [plan.pk for plan in plans]
        wait_for(lambda: not ScalingPlan.objects.filter(pk__in=ids, status="draft").exists())
    statuses = set(ScalingPlan.objects.filter(pk__in=ids).values_list("status", flat=True))
    # A newer round supersedes the previous round's plans; this round's must all be proposed.
    assert statuses == {"proposed"}, list(
        ScalingPlan.objects.filter(pk__in=ids).values_list("status", "message")
    )
    return out[0]


def measure_pulls(sources: list[int]) -> Round:
    """Every source's first pull (its hour of lookback), from beat's fan-out until all ended."""
    from apps.workloads.models import MetricObservation, MetricSource
    from apps.workloads.tasks import pull_all_metric_sources

    chosen = MetricSource.objects.filter(pk__in=sources)
    MetricObservation.objects.filter(workload__metric_sources__in=sources).delete()
    chosen.update(last_success_at=None, last_error_at=None, last_error="")
    with timed() as out:
        pull_all_metric_sources.delay()
        wait_for(
            lambda: not chosen.filter(last_success_at__isnull=True, last_error_at__isnull=True)
        )
    errors = list(chosen.exclude(last_error="").values_list("last_error", flat=True)[:3])
    assert not errors, errors
    return out[0]


def write_document(lines: list[str]) -> None:
    """docs/benchmarks/scale.md: `lines`, then the web section as web_start.py left it."""
    old = OUTPUT.read_text() if OUTPUT.exists() else ""
    web = old[old.index(WEB_HEADING) :] if WEB_HEADING in old else ""
    OUTPUT.write_text("\n".join(lines) + ("\n" + web if web else ""))


def rate(rounds: list[Round], tasks: int) -> float:
    """Tasks per second over the median round."""
    return tasks / statistics.median(r.seconds for r in rounds)


def cpu_per_task(rounds: list[Round], tasks: int) -> float:
    """The workers' CPU seconds per task over the median round (their own CPU, no waiting)."""
    return statistics.median(r.seconds * r.worker_cores for r in rounds) / tasks


def median_of(rounds: list[Round], name: str) -> float:
    """The median of one Round field."""
    return statistics.median(getattr(r, name) for r in rounds)


def document(results: Results) -> list[str]:
    """docs/benchmarks/scale.md up to its web section, from the measured rounds."""
    tasks = results.workloads
    cores = os.cpu_count() or 1
    lines = [
        "# Scale: worker processes for 10,000 workloads",
        "",
        this_run(" ".join([COMMAND, *sys.argv[1:]])),
        f"Commit measured: {results.commit}. Load average (1, 5, 15 min) when it started: "
        f"{', '.join(f'{v:.2f}' for v in results.load_before)}; when it ended: "
        f"{', '.join(f'{v:.2f}' for v in results.load_after)}.",
        "",
        "## Method",
        "",
        f"- {tasks} online workloads, each with {HISTORY_DAYS} days of {STEP_S // 60}-minute "
        "request counts (daily cycle plus noise), one variant on c6i.xlarge, the shipped catalog.",
        f"- N = {', '.join(map(str, results.forecasts))} Celery worker processes, each its own "
        f"`celery worker --pool=solo` on every queue ({QUEUES}), as N worker pods would run "
        f"(BLAS and OpenMP on one thread each: {', '.join(sorted(ONE_THREAD))} = 1), on "
        "real Redis (broker) and PostgreSQL started by the script. The same mix for every N: "
        f"a round of {tasks} forecasts, then a round of {tasks} plans, each sent as one "
        f"Celery group as the scheduler sends them; {len(results.pulls)} rounds each, after one "
        "forecast round (not counted) that lets every new process load its model libraries.",
        "- Forecast task: `auto`, the default model (backtests every model, fits the two best "
        f"and averages them), for the next day ({86_400 // STEP_S} steps). Plan task: the "
        "chain's links, finding the fresh stored forecast, building the problem, sweeping the "
        "Pareto front (HiGHS), the chord replaying its candidate envelopes over the newest day "
        "(one part per point of the front) and its body proposing: each plan counts once, all "
        "its tasks included.",
        "- Each round's wall time from dispatch to the last result; over the round, the "
        "machine's CPU use from /proc/stat (all cores, every process on the machine, the "
        "benchmark's servers and other work included) and the cores the worker processes used "
        "(their CPU seconds, with the children they waited for, over the wall seconds). Their "
        "CPU seconds per task is what a task costs whatever else runs beside it; medians.",
        f"- Metric pulls, one process: {SOURCES} Prometheus sources (one per workload, a "
        "loopback Prometheus API answering per-minute points), pulled by "
        "`pull_all_metric_sources` as beat sends it (chunks of BALLAST_METRIC_PULL_BATCH); each "
        "round is every source's first pull, its hour of lookback (60 points each): an upper "
        "bound on the steady minute's pull of one new point.",
        "",
        "## Throughput by worker processes",
        "",
        f"| task | N | seconds per round of {tasks} (runs) | median | tasks per second "
        "| × one process's | machine CPU use | cores the workers used | worker CPU s per task |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    checks = []
    for task, by_n in (("forecast (auto)", results.forecasts), ("plan", results.plans)):
        one = rate(by_n[1], tasks)
        for n, rounds in by_n.items():
            r = rate(rounds, tasks)
            lines.append(
                f"| {task} | {n} | {seconds([x.seconds for x in rounds])} | "
                f"{median_of(rounds, 'seconds'):.1f} | {r:.3f} | {r / one:.2f} | "
                f"{100 * median_of(rounds, 'busy'):.0f} % | {median_of(rounds, 'worker_cores'):.2f}"
                f" | {cpu_per_task(rounds, tasks):.1f} |"
            )
            if n > 1:
                cost = cpu_per_task(rounds, tasks) / cpu_per_task(by_n[1], tasks)
                checks.append((task, n, r / one, cost, rounds))
    lines += [
        "",
        f"Target: N processes reach N times one process's throughput within "
        f"{SCALING_TOLERANCE:.0%} (a ratio of at least {1 - SCALING_TOLERANCE:.1f} N):",
        "",
    ]
    for task, n, ratio, cost, rounds in checks:
        met = ratio >= (1 - SCALING_TOLERANCE) * n
        lines.append(
            f"- {task}, N = {n}: {ratio:.2f} × one process "
            f"(needs {(1 - SCALING_TOLERANCE) * n:.1f}): **{'met' if met else 'not met'}**; "
            f"the workers used {median_of(rounds, 'worker_cores'):.2f} of the {cores} cores, "
            f"the machine was {100 * median_of(rounds, 'busy'):.0f} % busy; a task cost "
            f"{cost:.2f} × the CPU seconds it cost with one process."
        )
    lines += [
        "",
        f"With the machine's {cores} cores shared by the N workers, the one PostgreSQL and "
        "Redis, the benchmark and whatever else runs on it (the machine's CPU use above counts "
        "them all), N processes can do more than one only as far as cores are idle: the "
        "throughput ratio measures this machine's spare cores, not the workers. What the "
        "workers themselves add when N grows is the CPU seconds per task: when it stays "
        "near 1 × one process's, N workers on N cores of their own do N times the work.",
        "",
        "## Metric pulls (one process)",
        "",
        "| sources | seconds per round (runs) | median | sources pulled per second "
        "| machine CPU use | cores the worker used | worker CPU ms per source |",
        "|---|---|---|---|---|---|---|",
        f"| {SOURCES} | {seconds([r.seconds for r in results.pulls])} | "
        f"{median_of(results.pulls, 'seconds'):.1f} | {rate(results.pulls, SOURCES):.1f} | "
        f"{100 * median_of(results.pulls, 'busy'):.0f} % | "
        f"{median_of(results.pulls, 'worker_cores'):.2f} | "
        f"{1000 * cpu_per_task(results.pulls, SOURCES):.1f} |",
        "",
    ]
    return lines + projection(results)


def projection(results: Results) -> list[str]:
    """The arithmetic for TARGET_WORKLOADS workloads: tasks per second / rate = processes."""
    tasks = results.workloads
    rows = [  # work (queue), how often, period (s), one process's wall rate, CPU s a task
        (
            "forecasts (`gpu`: `auto` trains the LSTM)",
            "each workload's `auto` forecast every hour",
            FORECAST_PERIOD_S,
            rate(results.forecasts[1], tasks),
            cpu_per_task(results.forecasts[1], tasks),
        ),
        (
            "plans (`cpu`)",
            f"each workload re-planned every {PLAN_PERIOD_S // 60} minutes on the hour's forecast",
            PLAN_PERIOD_S,
            rate(results.plans[1], tasks),
            cpu_per_task(results.plans[1], tasks),
        ),
        (
            "metric pulls (`cpu`)",
            "each workload's one source pulled every minute (first pulls: an upper bound)",
            PULL_PERIOD_S,
            rate(results.pulls, SOURCES),
            cpu_per_task(results.pulls, SOURCES),
        ),
        (
            "control steps (`control`)",
            "each workload's controller stepped every minute (rate from docs/benchmarks/"
            "control.md, benchmarks/control.py: wall clock only)",
            CONTROL_PERIOD_S,
            CONTROL_STEPS_PER_S,
            1 / CONTROL_STEPS_PER_S,
        ),
    ]
    lines = [
        f"## Projection: {TARGET_WORKLOADS:,} workloads",
        "",
        "Processes needed = tasks per second needed / tasks per second of one process, per "
        "queue, two ways: with one process's rate as measured here (N = 1, wall clock, on this "
        "shared machine: waits on the database and on other work included), and with a core "
        "of its own doing nothing but the task (tasks per second needed × the worker's CPU "
        "seconds per task: a lower bound, without the waits).",
        "",
        "| work (queue) | how often | needed per second | one process per second (measured) "
        "| processes (measured rate) | CPU s per task | processes (own core) |",
        "|---|---|---|---|---|---|---|",
    ]
    measured, own_core = [], []
    for work, often, period_s, per_process, cpu_s in rows:
        needed = TARGET_WORKLOADS / period_s
        measured.append(needed / per_process)
        own_core.append(needed * cpu_s)
        lines.append(
            f"| {work} | {often} | {TARGET_WORKLOADS:,} / {period_s} s = {needed:.2f} | "
            f"{per_process:.3f} | {needed:.2f} / {per_process:.3f} = **{measured[-1]:.1f}** | "
            f"{cpu_s:.3g} | {needed:.2f} × {cpu_s:.3g} = **{own_core[-1]:.1f}** |"
        )
    largest = rows[int(np.argmax(measured))][0]
    lines += [
        f"| **all** | | | | **{sum(measured):.0f}** | | **{sum(own_core):.0f}** |",
        "",
        f"So {TARGET_WORKLOADS:,} workloads need {sum(own_core):.0f} worker processes each on a "
        f"core of its own, {sum(measured):.0f} each as slow as one was here. The largest share is "
        f"{largest}: doing that work less often divides it. The metric pulls are batched: "
        f"{TARGET_WORKLOADS:,} "
        f"sources a minute are {int(np.ceil(TARGET_WORKLOADS / SOURCES))} tasks of {SOURCES} "
        f"sources (BALLAST_METRIC_PULL_BATCH), not {TARGET_WORKLOADS:,}.",
        "",
    ]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
