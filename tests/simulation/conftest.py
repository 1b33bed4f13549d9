from pathlib import Path

import numpy as np
import pytest

from policies.base import Context, Observation
from policies.forecasts import ForecastFeed
from policies.scenario import default_scenario
from simulation.trace import Load

TRACES = Path(__file__).resolve().parents[2] / "data" / "traces"


@pytest.fixture
def scenario():
    return default_scenario()


def make_load(rps, step_s=60, start_s=0.0):
    rps = np.asarray(rps, dtype=float)
    return Load("test.csv", rps, start_s, step_s, step_s, 1.0)


def make_context(scenario, rps, step_s=60):
    load = make_load(rps, step_s)
    feed = ForecastFeed(
        load.rps, step_s, refit_s=3600, model="seasonal_naive", lead_steps=8, seed=0
    )
    return Context(
        scenario=scenario,
        step_s=step_s,
        forecasts=feed,
        seed=0,
        name=load.name,
        future_rps=load.rps,
    )


def observe(
    t,
    demand,
    *,
    pool=("c6i.xlarge", "on_demand"),
    ready=0,
    pending=0,
    util=0.5,
    served=None,
    history=None,
    reserved=None,
    backlog=0.0,
):
    hist = np.asarray(history if history is not None else [demand], dtype=float)
    return Observation(
        t=t,
        step_s=60,
        history_rps=hist,
        demand_rps=float(demand),
        served_rps=float(demand if served is None else served),
        capacity_rps=0.0,
        utilization=util,
        backlog=backlog,
        counts={pool: (ready, pending)},
        reserved=reserved or {},
    )


def write_trace(path, values, interval_s=60, start="2024-01-01T00:00:00"):
    base = np.datetime64(start)
    lines = ["timestamp,value"]
    for i, v in enumerate(values):
        ts = (base + np.timedelta64(i * interval_s, "s")).astype(str)
        lines.append(f"{ts}Z,{v}")
    Path(path).write_text("\n".join(lines) + "\n")
    return path
