"""Does the live controller keep its step with 1,000 workloads on one worker process?

Run from the repository root (PostgreSQL and Redis binaries as for the tests):

    .venv/bin/python -m benchmarks.control

It starts PostgreSQL and Redis on free loopback ports (tests/servers.py), migrates a fresh
database, imports the shipped catalog and creates WORKLOADS online workloads (the ranker of the
tests: p99 under 100 ms on c6i.xlarge), each with a dry-run Deployment target, a ballast
controller and HISTORY_MIN minutes of per-minute request counts (a daily cycle plus noise,
phase-shifted per workload). ONE Celery worker process (solo pool) serves the `control` queue.

Each round stores the next minute's point of every workload (as pushers would), then runs
`control_tick`, which fans one `control_step` per workload out as a Celery group, and times
from the tick until every controller's `last_step` has advanced. The first round is the cold
start (each controller catches up HISTORY_MIN steps); the others are steady minutes, one of
them crossing the hour, when every workload's forecast feed refits at once (they share their
origin, the worst case). The step cadence holds when a steady round takes under STEP_S.

It writes docs/benchmarks/control.md.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from benchmarks.servers import django_on_servers, wait_for, worker

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "benchmarks" / "control.md"
COMMAND = ".venv/bin/python -m benchmarks.control"
WORKLOADS = 1000
HISTORY_MIN = 50  # the next rounds cross the hour (step 60): every feed refits there
ROUNDS = 12
STEP_S = 60
START = datetime(2026, 11, 2, tzinfo=UTC)
TRACES = ROOT / "data" / "traces"
EQUIVALENCE_STEPS = 720  # twelve hours of each shipped trace
PEAK_RPS = 1500.0


def main() -> int:
    """Start the servers, set Django up against them, measure, write the document.

    `--workloads N` measures N workloads instead (a quick look; the document says how many).
    """
    global WORKLOADS
    if "--workloads" in sys.argv:
        WORKLOADS = int(sys.argv[sys.argv.index("--workloads") + 1])
    with django_on_servers("ballast-control-") as var:
        same = [replay_both_ways(path) for path in sorted(TRACES.glob("*.csv"))]
        workloads = make_workloads()
        with worker(var, "control"):
            rounds = [measure_round(workloads, HISTORY_MIN + 1 + r) for r in range(ROUNDS)]
        write_document(rounds, same)
    print(OUTPUT.read_text())
    return 0


def replay_both_ways(path: Path) -> dict:
    """EQUIVALENCE_STEPS minutes of a shipped trace through the live path and the simulator.

    The trace's shape at a PEAK_RPS peak, stored minute by minute as a pusher would, each
    minute's `run_step` rebuilding ballast from its saved state (a dry-run target); then the
    same load replayed by the simulator in the same workload's world (its spot market calm, as
    a dry-run target's world is). Counts the steps whose
    replicas per pool and serverless share agree.
    """
    from apps.control import rebuild, services
    from apps.control.models import ControlDecision
    from apps.workloads.models import MetricObservation
    from apps.workloads.world import scenario_for
    from policies import make_policy
    from policies.scenario import SpotMarket
    from simulation.run import replay_context, replay_decisions
    from simulation.trace import Load, load_trace

    load = load_trace(path, step_s=60, peak_rps=PEAK_RPS)
    rps = load.rps[:EQUIVALENCE_STEPS]
    (workload,) = make_ranker_workloads(1, prefix=path.stem[:40])
    for t in range(1, len(rps)):
        MetricObservation.objects.create(
            workload=workload,
            series="requests",
            ts=START + timedelta(minutes=t - 1),
            value=float(rps[t - 1] * 60),
        )
        services.run_step(workload.pk, now=START + timedelta(minutes=t, seconds=5))
    live = {
        row.step: (
            {(e["instance_type"], e["purchase_option"]): e["replicas"] for e in row.desired},
            row.serverless_share,
        )
        for row in ControlDecision.objects.filter(workload=workload)
    }
    # A dry-run target launches all it is asked for and sees no reclaim wave: the simulator's
    # world is held to the same (its spot market calm), so the two paths meet the same world.
    scenario = replace(
        scenario_for(workload, step_s=60, peak_rps=float(rps.max())),
        spot_market=SpotMarket.calm(),
    )
    ctx, _ = replay_context(Load(path.name, rps, 0.0, 60, 60, 1.0), scenario, seed=rebuild.SEED)
    simulated = replay_decisions(make_policy("ballast_controller", ctx), ctx)
    agree = sum(live.get(t) == decided for t, decided in enumerate(simulated))
    moves = len({sum(d.values()) for d, _ in simulated})
    workload.controller.delete()  # out of the cadence rounds' way
    return {"trace": path.name, "steps": len(simulated), "agree": agree, "counts": moves}


def load_of(i: int, minutes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Requests per minute of workload i: 300-1,500 rps with a daily cycle, plus noise."""
    rps = 900 * (1 + 0.6 * np.sin(2 * np.pi * minutes / 1440 + i)) + rng.normal(0, 40, len(minutes))
    return np.clip(rps, 0, None) * 60


def make_workloads() -> list:
    """WORKLOADS ranker workloads with HISTORY_MIN minutes of history (see `load_of`)."""
    from apps.workloads.models import MetricObservation

    workloads = make_ranker_workloads(WORKLOADS, prefix="w")
    MetricObservation.objects.bulk_create(
        [
            MetricObservation(
                workload=w, series="requests", ts=START + timedelta(minutes=k), value=v
            )
            for i, w in enumerate(workloads)
            for k, v in enumerate(
                load_of(i, np.arange(HISTORY_MIN), np.random.default_rng(i)).tolist()
            )
        ],
        batch_size=10_000,
    )
    return workloads


def make_ranker_workloads(n: int, *, prefix: str) -> list:
    """`n` online rankers, each with a dry-run Deployment and a ballast controller.

    p99 under 100 ms on c6i.xlarge, 200 rps per replica at 10 ms a request.
    """
    from apps.accounts.models import Team
    from apps.catalog.models import InstanceType
    from apps.control.services import enable_controller
    from apps.workloads.models import SLA, CapacityProfile, DeploymentTarget, ModelVariant, Workload

    team, _ = Team.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    instance = InstanceType.objects.get(name="c6i.xlarge")
    workloads = []
    for i in range(n):
        workload = Workload.objects.create(team=team, name=f"{prefix}{i}", kind="online")
        SLA.objects.create(workload=workload, latency_percentile=99, latency_target_ms=100)
        variant = ModelVariant.objects.create(
            workload=workload, name="v", accuracy=0.9, memory_mb=2048
        )
        CapacityProfile.objects.create(
            variant=variant, instance_type=instance, max_rps=200, service_time_ms=10
        )
        DeploymentTarget.objects.create(workload=workload, kind="k8s_deployment", reference="x/y")
        enable_controller(workload=workload)
        workloads.append(workload)
    return workloads


def measure_round(workloads, minute: int) -> dict:
    """Store minute-1's point of every workload, tick at `minute`, time until all have stepped."""
    from apps.control.models import Controller
    from apps.control.tasks import control_tick
    from apps.workloads.models import MetricObservation

    MetricObservation.objects.bulk_create(
        MetricObservation(
            workload=w,
            series="requests",
            ts=START + timedelta(minutes=minute - 1),
            value=float(load_of(i, np.array([minute - 1]), np.random.default_rng([i, minute]))[0]),
        )
        for i, w in enumerate(workloads)
    )
    now = START + timedelta(minutes=minute, seconds=5)
    started = time.monotonic()
    control_tick.delay(now.isoformat())  # the benchmark's clock, not the worker's
    wait_for(
        lambda: (
            not Controller.objects.filter(workload__in=workloads).exclude(last_step=minute).exists()
        )
    )
    elapsed = time.monotonic() - started
    return {"minute": minute, "seconds": elapsed}


def write_document(rounds: list[dict], same: list[dict]) -> None:
    """docs/benchmarks/control.md from the measured rounds and the two-way replays."""
    cold, steady = rounds[0], rounds[1:]
    refit = [r for r in steady if r["minute"] % 60 == 0]
    plain = [r["seconds"] for r in steady if r["minute"] % 60]
    median = statistics.median(plain)
    lines = [
        f"# The live controller at {WORKLOADS:,} workloads",
        "",
        f"Command: `{COMMAND}`. Machine: {platform.machine()}, {os.cpu_count()} cores (shared "
        f"with other work while this ran), Python {platform.python_version()}; PostgreSQL and "
        "Redis on loopback, ONE Celery worker process (solo pool) on the `control` queue.",
        "",
        f"{WORKLOADS} online workloads, each with a ballast controller, a dry-run Deployment "
        f"and {HISTORY_MIN} minutes of per-minute history. A round stores one new point per "
        "workload, runs `control_tick` (a Celery group of one `control_step` per workload) and "
        "times until every controller has decided the new step.",
        "",
        "| round | step | seconds | what it did |",
        "|---|---|---|---|",
        f"| cold start | {cold['minute']} | {cold['seconds']:.1f} | each controller caught up "
        f"{cold['minute'] + 1} steps |",
    ]
    for r in steady:
        what = "every forecast feed refits" if r["minute"] % 60 == 0 else "one step each"
        lines.append(f"| steady | {r['minute']} | {r['seconds']:.1f} | {what} |")
    verdict = "holds" if median < STEP_S and all(r["seconds"] < STEP_S for r in refit) else "fails"
    lines += [
        "",
        f"Median of the {len(plain)} steady rounds without a refit: **{median:.1f} s** for "
        f"{WORKLOADS} workloads, against a {STEP_S} s step: the cadence **{verdict}** on one "
        f"worker process ({WORKLOADS / median:.0f} workload steps per second)."
        + (f" The refit round took {refit[0]['seconds']:.1f} s." if refit else ""),
        "",
    ]
    lines += [
        "## The live path decides as the simulator",
        "",
        f"Each shipped trace's first {EQUIVALENCE_STEPS} minutes, shaped to a {PEAK_RPS:g} rps "
        "peak, replayed minute by minute through the live path (metrics stored as a pusher "
        "would, `run_step` rebuilding ballast from its saved state each minute, a dry-run "
        "target) and through the simulator in the same workload's world, its spot market calm "
        "(no waves, shortages or price moves: a dry-run target meets none):",
        "",
        "| trace | steps | same replicas per pool and serverless share | distinct totals decided |",
        "|---|---|---|---|",
        *(f"| {r['trace']} | {r['steps']} | {r['agree']} | {r['counts']} |" for r in same),
        "",
    ]
    OUTPUT.write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
