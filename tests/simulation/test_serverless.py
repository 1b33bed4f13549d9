"""Functions as they behave: warm pools, cold ramps and the account's concurrency."""

import numpy as np
import pytest

from policies.scenario import Serverless, Variant
from simulation.serverless import serve_serverless

VARIANT = Variant("v", 0.9, (), serverless_ms_at_1769mb=30.0)
FN = Serverless(cold_start_s=2.0, keep_alive_s=600.0, max_concurrency=1000)


def serve(rps, fn=FN):
    return serve_serverless(np.asarray(rps, dtype=float), 60, fn, VARIANT, 1769)


def test_a_steady_load_is_cold_for_its_first_cold_start_only():
    use = serve([100.0] * 5)
    # 100 rps arrive onto no instance: for 2 s each request starts its own
    assert use.cold[0] == pytest.approx(200.0)
    assert use.cold[1:].sum() == 0.0 and use.throttled.sum() == 0.0
    assert use.warm.sum() + use.cold.sum() == pytest.approx(100.0 * 60 * 5)


def test_a_spill_wave_beyond_the_accounts_concurrency_is_refused_during_its_ramp():
    use = serve([0.0, 2500.0, 2500.0])
    started = 1000 / (2.0 + 0.030)  # each new instance is held for the cold start + request
    assert use.cold[1] == pytest.approx(started * 2.0)
    assert use.throttled[1] == pytest.approx((2500.0 - started) * 2.0)
    assert use.cold[2] == 0.0 and use.throttled[2] == 0.0  # the ramp's instances stay warm
    late = use.cold[1] + use.throttled[1]
    assert late == pytest.approx(2500.0 * 2.0)  # every request of the ramp is late or refused


def test_load_beyond_what_the_concurrency_carries_is_throttled_all_along():
    use = serve([40000.0] * 3)
    carried = 1000 / 0.030
    assert use.throttled[2] == pytest.approx((40000.0 - carried) * 60)


def test_instances_go_cold_after_the_keep_alive():
    rps = [100.0] + [0.0] * 10 + [100.0]
    use = serve(rps)
    assert use.cold[11] == pytest.approx(200.0)  # 10 idle minutes: the pool is gone
    short = serve([100.0] + [0.0] * 5 + [100.0])
    assert short.cold[6] == 0.0  # 5 idle minutes: still warm


def test_cold_starts_are_billed_their_initialisation():
    warm_only = serve([100.0] * 3, Serverless(cold_start_s=0.0))
    cold = serve([100.0] * 3)
    gb = 1769 / 1024
    init = 200.0 * gb * 2.0 * 1.66667e-5
    assert cold.cost_usd == pytest.approx(warm_only.cost_usd + init)
