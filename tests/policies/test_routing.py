"""The serverless share: set at a step's start from what is ready and what the load may do."""

import dataclasses
import json
import math

import numpy as np
import pytest

from actuators.targets import quantize_share, weight_percent
from policies import make_policy
from policies.routing import MIN_CHANGES, WARMUP_RISE, LoadRise, Router, log_changes, quantile
from simulation.replay import replay
from tests.simulation.conftest import make_context

POOL = ("c6i.xlarge", "spot")


@pytest.fixture
def router(scenario):
    return Router(scenario, scenario.default_variant, 60)


def carried(router, n):
    return router.carried("c6i.xlarge", n)


def test_shares_round_up_to_whole_percent_weights():
    assert quantize_share(0.0) == 0.0 and quantize_share(0.001) == 0.01
    assert quantize_share(0.25) == 0.25 and quantize_share(1.7) == 1.0
    assert weight_percent(0.123) == 13 and weight_percent(-0.1) == 0


def test_no_share_while_the_ready_replicas_carry_the_plausible_high(router):
    level = carried(router, 4) / math.exp(WARMUP_RISE) - 5  # the high stays under 4's rate
    assert router.share(np.array([level]), {POOL: 4}, {}) == 0.0


def test_the_share_is_what_the_ready_replicas_cannot_carry_of_the_high(router):
    history = np.array([1000.0])
    share = router.share(history, {POOL: 1}, {})
    high = 1001 * math.exp(WARMUP_RISE) - 1
    assert share == quantize_share(1 - carried(router, 1) / high) and 0 < share < 1


def test_replicas_asked_for_now_serve_only_after_a_boot(router):
    history = np.array([1000.0])
    first = router.share(history, {POOL: 2}, {})  # a replay starts warm: 2 ready
    grown = router.share(history, {POOL: 6}, {})  # 4 more booting (60 s boot, 60 s steps)
    booted = router.share(history, {POOL: 6}, {})
    assert grown == first and booted < grown
    shrunk = router.share(history, {POOL: 1}, {})  # scaling in takes effect at once
    assert shrunk > first


def test_no_replica_sends_everything_to_functions(router):
    assert router.share(np.array([50.0]), {}, {}) == 1.0


def test_a_wake_from_idle_with_nothing_ready_goes_to_functions(router):
    idle = np.zeros(MIN_CHANGES + 5)
    for t in range(1, len(idle)):
        router.share(idle[:t], {POOL: 0}, {})
    assert router.rise.headroom() == 1.0  # an idle load never rose: its plausible high is 0
    assert router.share(idle, {POOL: 0}, {}) == 1.0  # yet the first requests must land


def test_a_clairvoyant_share_is_the_exact_overflow(router):
    rate = carried(router, 3)
    assert router.share(np.array([1.0]), {POOL: 3}, {}, known_rps=rate) == 0.0
    assert router.share(np.array([1.0]), {POOL: 3}, {}, known_rps=2 * rate) == 0.5


def test_a_rise_is_measured_over_the_mean_of_the_steps_before():
    rps = np.array([9.0, 19.0, 9.0, 19.0, 9.0, 19.0, 9.0, 29.0])
    changes = log_changes(rps, 6)
    assert changes[0] == pytest.approx(math.log(20 / 10))  # over the first step alone
    assert changes[-1] == pytest.approx(math.log(30 / (rps[1:7].mean() + 1)))
    assert log_changes(rps, 1)[-1] == pytest.approx(math.log(30 / 10))
    rise = LoadRise(60)
    assert rise.high(rps) == pytest.approx((rps[-1] + 1) * math.exp(WARMUP_RISE) - 1)


def test_before_the_warmup_ends_the_rise_is_at_least_the_largest_change_seen():
    """A new workload's first steps: a few draws' largest is no tail, so nothing under it."""
    rise = LoadRise(60)
    rise.observe(np.array([99.0, 109.0]))  # +10 %: the warmup's +30 % stands
    assert rise.headroom() == pytest.approx(math.exp(WARMUP_RISE))
    rise.observe(np.array([99.0, 109.0, 219.0]))  # +100 % over the last step
    assert rise.best() == (1, pytest.approx(220 / 110))


def test_the_rise_is_the_tightest_spans_recent_percentile_after_a_warmup():
    rise = LoadRise(60)
    flat = np.full(MIN_CHANGES + 2, 99.0)
    for t in range(2, len(flat) + 1):
        rise.observe(flat[:t])
    assert rise.headroom() == 1.0  # a flat load never rises
    jumpy = np.concatenate([flat, np.tile([99.0, 99.0, 149.0], 100)])  # past the 3 h window
    for t in range(len(flat) + 1, len(jumpy) + 1):
        rise.observe(jumpy[:t])
    # over the last step a spike is +50 %; over a level of 3, 6 or 12 steps, 150 / (115.7 + 1)
    assert rise.best() == (3, pytest.approx(150 / (np.mean([99.0, 99.0, 149.0]) + 1)))
    assert rise.high(jumpy) == pytest.approx((np.mean(jumpy[-3:]) + 1) * rise.headroom() - 1)


def test_router_state_round_trips_through_json(scenario, router):
    rng = np.random.default_rng(1)
    loads = 1000 + rng.normal(0, 100, 80)
    fresh = Router(scenario, scenario.default_variant, 60)
    for t in range(1, 80):
        desired = {POOL: int(rng.integers(1, 6))}
        if t == 40:
            fresh.restore(json.loads(json.dumps(router.state())))
        a = router.share(loads[:t], desired, {})
        if t >= 40:
            assert fresh.share(loads[:t], desired, {}) == a


def test_a_surge_beyond_the_plausible_high_overloads_the_vms_not_the_functions(scenario):
    """The simulator no longer spills a surprise: the VMs take their share of it, late."""
    rps = np.concatenate([np.full(60, 2000.0), np.full(10, 6000.0)])
    ctx = make_context(dataclasses.replace(scenario, peak_rps=6000.0), rps)
    routed = replay(make_policy("ballast_controller", ctx), ctx)
    surge = 60  # the first surge step: set on the steady past, before the load was seen
    vm_rate = rps[surge] * (1 - routed.serverless_share[surge])
    assert routed.serverless_rps[surge] == pytest.approx(
        rps[surge] * routed.serverless_share[surge]
    )
    assert vm_rate > routed.vm_capacity[surge] / 60  # more than the ready replicas can serve
    assert routed.dropped[surge].sum() + routed.late[surge].sum() > 0


def test_ballast_restores_a_state_saved_before_the_router(scenario):
    """A live controller's saved state from before the router keeps working after an upgrade."""
    ctx = make_context(scenario, np.full(60, 1000.0))
    saved = make_policy("ballast_controller", ctx).state()
    del saved["changes"]
    fresh = make_policy("ballast_controller", ctx)
    fresh.restore(saved)
    assert fresh.rise.headroom() == pytest.approx(math.exp(WARMUP_RISE))


def test_the_quantile_is_numpys_bit_for_bit():
    rng = np.random.default_rng(3)
    for n in [1, 2, 3, 29, 30, 100, 180, 181, 1000]:
        for draw in (rng.normal(0, 0.2, n), np.round(rng.normal(0, 1, n), 1), np.full(n, 0.3)):
            for q in (0.0, 0.01, 0.5, 0.9, 0.99, 1.0, float(rng.uniform())):
                expected = float(np.quantile(draw, q))
                assert quantile(list(draw), q) == expected, (n, q)
                assert quantile(draw, q) == expected, (n, q)
