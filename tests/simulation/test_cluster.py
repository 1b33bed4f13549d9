import numpy as np
import pytest

from policies.scenario import InstanceType
from simulation.cluster import BillingRules, Cluster

VM = InstanceType("vm", 3.6, 1.8, 2.4, 0.0, boot_s=60.0)
RISKY = InstanceType("risky", 3.6, 1.8, 2.4, 1e9, boot_s=60.0)


def cluster(step_s=60, n_steps=60, types=(VM,)):
    rules = BillingRules(step_s=step_s, min_billed_s=60.0, spot_notice_s=120.0)
    return Cluster({t.name: t for t in types}, rules, n_steps, np.random.default_rng(0))


def test_replica_terminated_after_20_s_is_billed_the_60_s_minimum():
    c = cluster(step_s=10)
    c.begin_step(0)
    c.reconcile(0, {("vm", "on_demand"): 1})
    c.bill_step(0)
    c.begin_step(1)
    c.bill_step(1)
    c.begin_step(2)
    c.reconcile(2, {("vm", "on_demand"): 0})
    assert c.cost_by_option["on_demand"] == pytest.approx(3.6 * 60 / 3600)


def test_replica_kept_two_minutes_is_billed_per_second():
    c = cluster()
    for t in range(2):
        c.begin_step(t)
        c.reconcile(t, {("vm", "on_demand"): 1})
        c.bill_step(t)
    c.begin_step(2)
    c.reconcile(2, {("vm", "on_demand"): 0})
    assert c.cost_by_option["on_demand"] == pytest.approx(3.6 * 120 / 3600)


def test_reserved_is_billed_for_the_whole_horizon_even_when_idle():
    c = cluster(n_steps=120)  # two hours
    c.commit_reserved(0, "vm", 2)
    for t in range(120):
        c.begin_step(t)
        c.bill_step(t)
    c.finish()
    assert c.cost_by_option["reserved"] == pytest.approx(2 * 2.4 * 2)
    assert c.ready_by_type(5)["vm"] == 2


def test_new_replica_serves_after_its_boot_delay():
    c = cluster()
    c.begin_step(0)
    c.reconcile(0, {("vm", "on_demand"): 3})
    assert c.ready_by_type(0).get("vm", 0) == 0
    assert c.ready_by_type(1)["vm"] == 3


def test_spot_interruption_gives_two_minutes_notice_and_is_replaced():
    c = cluster(types=(RISKY,))
    c.begin_step(0)
    c.reconcile(0, {("risky", "spot"): 1}, warm=True)
    c.begin_step(1)  # certain interruption at this hazard
    assert c.interruptions == 1
    assert c.counts(1)[("risky", "spot")] == (0, 0)
    assert c.ready_by_type(1)["risky"] == 1  # still serving under notice
    c.reconcile(1, {("risky", "spot"): 1})  # the group replaces it at the notice
    assert c.ready_by_type(2)["risky"] == 2  # replacement ready inside the notice
    c.doomed.clear()  # keep the replacement from being drawn again: check the notice length
    c2 = cluster(types=(RISKY,))
    c2.begin_step(0)
    c2.reconcile(0, {("risky", "spot"): 1}, warm=True)
    c2.begin_step(1)
    end_step = c2.doomed[("risky", "spot")][0][0]
    assert (end_step - 1) * 60 == 120


def test_pending_replicas_are_terminated_before_ready_ones():
    c = cluster()
    c.begin_step(0)
    c.reconcile(0, {("vm", "on_demand"): 2}, warm=True)
    c.begin_step(1)
    c.reconcile(1, {("vm", "on_demand"): 4})
    c.reconcile(1, {("vm", "on_demand"): 2})
    assert c.counts(1)[("vm", "on_demand")] == (2, 0)


def market_cluster(spec, types=(VM,), n_steps=600, stress_steps=frozenset(), seed=0):
    from simulation.cluster import Market

    rules = BillingRules(step_s=60, min_billed_s=60.0, spot_notice_s=120.0)
    by_name = {t.name: t for t in types}
    market = Market(by_name, spec, 60, n_steps, np.random.default_rng(seed), stress_steps)
    return Cluster(by_name, rules, n_steps, np.random.default_rng(1), market)


def test_a_wave_reclaims_its_share_of_the_pool_at_once_and_the_pool_runs_dry():
    from policies.scenario import SpotMarket

    spec = SpotMarket(wave_share=1.0, wave_fraction=0.5, shortage_s=600.0, shortage_per_hour=0)
    c = market_cluster(spec)
    c.market.waves["vm"] = frozenset({5})  # one wave, at step 5
    c.market.short_from["vm"] = np.array([5])
    c.reconcile(0, {("vm", "spot"): 100}, warm=True)
    for t in range(1, 6):
        c.begin_step(t)
    assert c.waves == 1
    assert 30 <= c.interruptions <= 70  # binomial(100, 0.5): half the pool at once
    assert c.counts(5)[("vm", "spot")][0] == 100 - c.interruptions
    c.reconcile(5, {("vm", "spot"): 100})  # the replacements find no capacity
    assert c.launch_failures == c.interruptions
    assert c.counts(5)[("vm", "spot")] == (100 - c.interruptions, 0)
    assert c.market.short("vm", 14) and not c.market.short("vm", 15)


def test_waves_strike_at_the_rate_the_band_leaves_them():
    from policies.scenario import SpotMarket
    from simulation.cluster import Market

    band = InstanceType("band", 3.6, 1.8, 2.4, 3.06e-4, boot_s=60.0)  # Advisor 15-20 %
    spec = SpotMarket(wave_share=0.5, wave_fraction=0.5)
    steps = 60 * 24 * 365 * 20  # twenty years of minutes
    market = Market({"band": band}, spec, 60, steps, np.random.default_rng(3))
    expected = 3.06e-4 * 0.5 / 0.5 * 24 * 365 * 20  # waves carry half the band's reclaims
    assert abs(len(market.waves["band"]) - expected) < 4 * expected**0.5
    assert market.independent_hazard(3.06e-4) == pytest.approx(1.53e-4)


def test_on_demand_launches_never_meet_the_spot_shortage():
    from policies.scenario import SpotMarket

    spec = SpotMarket(shortage_per_hour=1e6)  # short all the time
    c = market_cluster(spec, types=(RISKY,))
    c.reconcile(1, {("risky", "spot"): 3, ("risky", "on_demand"): 2})
    assert c.launch_failures == 3
    assert c.counts(2)[("risky", "on_demand")] == (2, 0)


def test_stress_reclaims_the_largest_spot_pool_whole_at_the_peak():
    from policies.scenario import SpotMarket

    small = InstanceType("small", 3.6, 1.8, 2.4, 0.0, boot_s=60.0)
    spec = SpotMarket(stress=True, shortage_per_hour=0.0)
    c = market_cluster(spec, types=(VM, small), stress_steps=frozenset({5}))
    c.reconcile(0, {("vm", "spot"): 8, ("small", "spot"): 3}, warm=True)
    for t in range(1, 6):
        c.begin_step(t)
    assert c.interruptions == 8 and c.waves == 1
    assert c.counts(5)[("small", "spot")] == (3, 0)
    assert c.market.short("vm", 6) and not c.market.short("small", 6)


def test_spot_is_billed_at_the_days_market_price_and_on_demand_at_the_list_price():
    from policies.scenario import SpotMarket

    c = market_cluster(SpotMarket(price_sigma_per_day=0.2), n_steps=2880)
    factors = c.market.price_by_day["vm"]
    assert len(set(np.round(factors, 6))) > 1
    for t in range(1440, 1500):
        c.begin_step(t)
        c.reconcile(t, {("vm", "spot"): 1, ("vm", "on_demand"): 1}, warm=t == 1440)
        c.bill_step(t)
    assert c.cost_by_option["spot"] == pytest.approx(1.8 * factors[1], rel=1e-9)
    assert c.cost_by_option["on_demand"] == pytest.approx(3.6)


def test_every_policy_meets_the_same_market_for_a_seed():
    from policies.scenario import SpotMarket
    from simulation.cluster import Market

    spec = SpotMarket(shortage_per_hour=0.5)
    a, b = (
        Market({"vm": VM, "risky": RISKY}, spec, 60, 500, np.random.default_rng(7))
        for _ in range(2)
    )
    assert a.waves == b.waves
    assert all((a.short_from[n] == b.short_from[n]).all() for n in ("vm", "risky"))
    calm = Market({"vm": VM}, SpotMarket.calm(), 60, 500, np.random.default_rng(7))
    assert not calm.waves["vm"] and not any(calm.short("vm", t) for t in range(500))
