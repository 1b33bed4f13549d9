"""Forecast and plan tasks per second per worker process, on real PostgreSQL and Redis.

Run from the repository root (PostgreSQL and Redis binaries as for the tests):

    .venv/bin/python -m benchmarks.scale

It starts PostgreSQL and Redis on free loopback ports (tests/servers.py), migrates a fresh
database, imports the shipped catalog, creates WORKLOADS online workloads with 14 days of
5-minute request counts (a daily cycle plus noise), starts ONE Celery worker process (solo pool)
and measures, ROUNDS times each:

- forecast tasks: `request_forecasts` fans WORKLOADS `auto` forecasts of the next day out as a
  Celery group; the time from dispatch until the last run is stored;
- plan tasks: `request_plans` fans WORKLOADS plan chains out as a group; each finds the fresh
  stored forecast, builds the problem, sweeps the Pareto front, replays its candidate
  envelopes over the newest day (a chord, one part per point of the front) and proposes; the
  time from dispatch until the last plan is proposed.

It writes docs/benchmarks/scale.md with the medians and the number of worker processes that
10,000 workloads re-planned every 15 minutes need, with and without a fresh forecast each time.
"""

from __future__ import annotations

import statistics
import time
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
    worker,
)

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "benchmarks" / "scale.md"
COMMAND = ".venv/bin/python -m benchmarks.scale"
WORKLOADS = 8
ROUNDS = 3
TARGET_WORKLOADS = 10_000
TARGET_PERIOD_S = 15 * 60
HISTORY_DAYS = 14
STEP_S = 300


def main() -> int:
    """Start the servers, set Django up against them, measure, write the document."""
    with django_on_servers("ballast-scale-") as var:
        user, workloads = make_workloads()
        with worker(var, "cpu,gpu,control,actuation,webhooks"):
            forecasts = [measure_forecasts(workloads, user) for _ in range(ROUNDS)]
            plans = [measure_plans(workloads, user) for _ in range(ROUNDS)]
        write_document(forecasts, plans)
    print(OUTPUT.read_text())
    return 0


def make_workloads():
    """WORKLOADS online workloads with SLA, a variant on c6i.xlarge and 14 days of history."""
    team, user = bench_user()
    steps = HISTORY_DAYS * 86_400 // STEP_S
    end = datetime(2026, 11, 1, tzinfo=UTC)
    workloads = []
    for i in range(WORKLOADS):
        rng = np.random.default_rng(i)
        t = np.arange(steps)
        load = 30_000 * (1 + 0.6 * np.sin(2 * np.pi * t * STEP_S / 86_400 + i))
        load = np.clip(load + rng.normal(0, 1500, steps), 0, None)
        workloads.append(online_workload(team, f"w{i}", load, step_s=STEP_S, end=end))
    return user, workloads


def measure_forecasts(workloads, user) -> float:
    """Seconds from dispatching WORKLOADS forecasts as a group until all are stored."""
    from apps.forecasts.models import ForecastRun
    from apps.forecasts.services import request_forecasts

    started = time.monotonic()
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
    wait_for(lambda: not ForecastRun.objects.filter(pk__in=ids, status__in=["queued", "running"]))
    elapsed = time.monotonic() - started
    failed = ForecastRun.objects.filter(pk__in=ids).exclude(status="succeeded")
    assert not failed.exists(), list(failed.values_list("message", flat=True))
    return elapsed


def measure_plans(workloads, user) -> float:
    """Seconds from dispatching WORKLOADS plan chains as a group until all are proposed."""
    from apps.plans.models import ScalingPlan
    from apps.plans.services import request_plans

    started = time.monotonic()
    plans = request_plans(workloads, by=user, via="api")
    ids = [plan.pk for plan in plans]
    wait_for(lambda: not ScalingPlan.objects.filter(pk__in=ids, status="draft").exists())
    elapsed = time.monotonic() - started
    statuses = set(ScalingPlan.objects.filter(pk__in=ids).values_list("status", flat=True))
    # A newer round supersedes the previous round's plans; this round's must all be proposed.
    assert statuses == {"proposed"}, list(
        ScalingPlan.objects.filter(pk__in=ids).values_list("status", "message")
    )
    return elapsed


def write_document(forecasts: list[float], plans: list[float]) -> None:
    """docs/benchmarks/scale.md from the measured seconds per round."""
    forecast_rate = WORKLOADS / statistics.median(forecasts)
    plan_rate = WORKLOADS / statistics.median(plans)
    needed_rate = TARGET_WORKLOADS / TARGET_PERIOD_S
    plan_workers = int(np.ceil(needed_rate / plan_rate))
    both_workers = int(np.ceil(needed_rate / forecast_rate + needed_rate / plan_rate))

    lines = [
        "# Scale: tasks per worker process",
        "",
        this_run(COMMAND),
        "",
        "## Method",
        "",
        f"- {WORKLOADS} online workloads, each with {HISTORY_DAYS} days of {STEP_S // 60}-minute "
        "request counts (daily cycle plus noise), one variant on c6i.xlarge, the shipped catalog.",
        "- One Celery worker process (`--pool=solo`) on real Redis (broker) and PostgreSQL, "
        "started by the script; the tasks are sent as one Celery group per round, as the "
        "scheduler sends them.",
        "- Forecast task: `auto` (backtests every model, fits the two best and averages them) "
        f"for the next day ({86_400 // STEP_S} steps). Plan task: the chain's two links, "
        "finding the fresh stored forecast, building the problem, sweeping the Pareto front "
        "(HiGHS), then the chord replaying its candidate envelopes over the newest day (three "
        "parts, one per point of the front) and its body proposing: each plan counts once, "
        "all its tasks included.",
        f"- Each round's wall time from dispatch to the last result, {ROUNDS} rounds; medians.",
        "",
        "## Results",
        "",
        "| task | seconds per round of "
        f"{WORKLOADS} (runs) | median | tasks per second per worker process |",
        "|---|---|---|---|",
        f"| forecast (auto) | {seconds(forecasts)} | {statistics.median(forecasts):.1f} | "
        f"{forecast_rate:.2f} |",
        f"| plan (front, replays, proposal) | {seconds(plans)} | {statistics.median(plans):.1f} | "
        f"{plan_rate:.2f} |",
        "",
        "## Projection",
        "",
        f"{TARGET_WORKLOADS:,} workloads re-planned every {TARGET_PERIOD_S // 60} minutes need "
        f"{needed_rate:.1f} plans per second:",
        "",
        f"- re-using a forecast made at most an hour before (the planner's rule): "
        f"{needed_rate:.1f} / {plan_rate:.2f} = **{plan_workers} worker processes**;",
        f"- with a fresh `auto` forecast for every plan as well: {needed_rate:.1f} / "
        f"{forecast_rate:.2f} + {needed_rate:.1f} / {plan_rate:.2f} = **{both_workers} worker "
        "processes**.",
        "",
        "Forecasting hourly instead of every 15 minutes divides the forecast part by four. "
        "These rates come from one process on one small, shared machine; how they grow with "
        "processes per host and with the database and broker shared by many workers was not "
        "measured here.",
        "",
    ]
    OUTPUT.write_text("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
