"""Replays through the spot market: the stress wave, its window, and the late requests by step."""

import numpy as np
import pytest

from policies.scenario import SpotMarket, default_scenario
from simulation.compare import build_policy
from simulation.metrics import late_by_step, model_survival, online_latency
from simulation.replay import daily_peaks
from simulation.run import replay_context, replay_online, run_policy
from tests.simulation.conftest import make_load

DAY = 1440


def two_days():
    minutes = np.arange(2 * DAY)
    return 2500.0 + 2000.0 * np.sin(2 * np.pi * (minutes - 360) / DAY)


def test_the_stress_strikes_at_each_days_peak():
    rps = two_days()
    peaks = daily_peaks(rps, 60)
    assert peaks == frozenset({int(np.argmax(rps[:DAY])), DAY + int(np.argmax(rps[DAY:]))})


@pytest.fixture(scope="module")
def stressed():
    load = make_load(two_days())
    scenario = default_scenario(spot_market=SpotMarket(stress=True))
    ctx, starts = replay_context(load, scenario, 0)
    return ctx, starts, load


def test_late_requests_by_step_sum_to_the_runs_violations(stressed):
    ctx, _, load = stressed
    policy = build_policy("rate_oracle", ctx, load)
    record, functions = replay_online(policy, ctx)
    sc = ctx.scenario
    fresh = model_survival(record, sc, policy.variant)
    violations, _, _ = online_latency(record, functions, sc, fresh)
    late = late_by_step(record, functions, sc, fresh)
    assert late.shape == (len(load.rps),)
    assert late.sum() == pytest.approx(violations, rel=1e-9)
    assert len(record.stress_steps) == 2


def test_ballast_keeps_the_wave_under_one_percent_by_moving_to_its_other_pool(stressed):
    ctx, starts, load = stressed
    metrics, _ = run_policy(build_policy("ballast_controller", ctx, load), ctx, starts)
    assert metrics["stress_waves"] == 2
    assert metrics["spot_interruptions"] > 0 and metrics["launch_failures"] > 0
    assert metrics["wave_violation_rate"] < 0.01
    assert len(metrics["peak_window_violations"]) == 2
    assert metrics["sla_violation_rate"] < 0.01
