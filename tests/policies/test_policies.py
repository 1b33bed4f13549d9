import dataclasses
import math
from collections import deque
from types import SimpleNamespace

import numpy as np
import pytest

from policies import POLICIES, REFERENCES, make_policy
from policies.ballast import ERROR_MODELS, LEVEL_SPANS, Ballast, Candidate
from policies.cost_aware import CostAware
from policies.exascale import Exascale
from policies.gapso import GAPSO
from policies.hpa import HPA
from policies.mixed import Mixed
from policies.oracle import (
    Oracle,
    RateOracle,
    TrailingRate,
    mean_around,
    trailing_mean,
)
from policies.paragon import Paragon, choose_variant
from policies.predictive import Predictive
from policies.routing import WARMUP_RISE, trace_rise
from policies.rule_based import RuleBased
from policies.scenario import VariantProfile, default_scenario
from policies.serverless import size_memory
from policies.sizing import SlaTable, expected_excess, replicas_for_sla
from policies.threshold import Threshold
from policies.util_aware import UtilAware
from tests.simulation.conftest import make_context, observe

POOL = ("c6i.xlarge", "on_demand")
CAP = 4 * 1000 / 12  # ranker-large on c6i.xlarge: 333.3 rps per replica


@pytest.fixture
def ctx(scenario):
    return make_context(scenario, np.full(120, 1000.0))


def test_every_design_policy_is_registered():
    assert set(POLICIES) == {
        "threshold",
        "hpa",
        "rule_based",
        "util_aware",
        "exascale",
        "predictive",
        "mixed",
        "paragon",
        "gapso",
        "cost_aware",
        "ballast_controller",
        "oracle",
    }


def test_unknown_policy_is_refused_by_name(ctx):
    with pytest.raises(ValueError, match="unknown policy 'nope'"):
        make_policy("nope", ctx)


def test_threshold_adds_one_over_80_then_waits_out_the_cooldown(ctx):
    p = Threshold(ctx)
    assert p.decide(observe(5, 0, ready=4, util=0.85)).desired[POOL] == 5
    assert p.decide(observe(6, 0, ready=5, util=0.95)).desired[POOL] == 5  # cooldown 300 s
    assert p.decide(observe(10, 0, ready=5, util=0.95)).desired[POOL] == 6


def test_threshold_removes_one_under_30_and_holds_between(ctx):
    p = Threshold(ctx)
    assert p.decide(observe(5, 0, ready=4, util=0.29)).desired[POOL] == 3
    q = Threshold(ctx)
    assert q.decide(observe(5, 0, ready=4, util=0.5)).desired[POOL] == 4


def test_hpa_scales_by_ratio_of_metric_to_target(ctx):
    p = HPA(ctx)
    p.decide(observe(0, 4 * CAP * 0.8))
    # 4 ready replicas at 100 % against a 80 % target: ceil(4 x 1.25) = 5
    assert p.decide(observe(1, 0, ready=4, served=4 * CAP)).desired[POOL] == 5


def test_hpa_ignores_changes_within_tolerance(ctx):
    p = HPA(ctx)
    p.decide(observe(0, 4 * CAP * 0.8))
    # 85 % / 80 % = 1.0625, inside the 0.1 tolerance
    assert p.decide(observe(1, 0, ready=4, served=4 * CAP * 0.85)).desired[POOL] == 4


def test_hpa_scale_down_waits_for_the_stabilization_window(ctx):
    p = HPA(ctx)
    p.decide(observe(0, 8 * CAP * 0.8))  # 8 replicas recommended
    low = 2 * CAP * 0.8
    got = [p.decide(observe(t, 0, ready=8, served=low)).desired[POOL] for t in range(1, 8)]
    assert got[:4] == [8, 8, 8, 8]  # the 300 s window still holds the 8
    assert got[-1] == 2


def test_hpa_scale_up_is_limited_to_double_or_four_per_sync(ctx):
    p = HPA(ctx)
    p.decide(observe(0, CAP * 0.8))
    # 1 ready replica saturated by 100 replicas' worth: ratio 1.25 only (util caps at 100 %)
    assert p.decide(observe(1, 0, ready=1, served=CAP)).desired[POOL] == 2


def test_rule_based_steps(ctx):
    p = RuleBased(ctx)
    assert p.decide(observe(3, 0, ready=10, util=0.95)).desired[POOL] == 13
    assert p.decide(observe(4, 0, ready=10, util=0.75)).desired[POOL] == 11
    assert p.decide(observe(5, 0, ready=10, util=0.3)).desired[POOL] == 9
    assert p.decide(observe(6, 0, ready=10, pending=2, util=0.95)).desired[POOL] == 12


def test_util_aware_sizes_last_load_at_80_percent(ctx):
    # 1000 rps / (0.8 x 333.3) = 3.75 -> 4 replicas; a 60 s backlog of 6,000 adds 100 rps
    assert UtilAware(ctx).decide(observe(3, 1000)).desired[POOL] == 4
    assert UtilAware(ctx).decide(observe(3, 1000, backlog=6000)).desired[POOL] == 5


def test_mixed_sizes_like_util_aware_and_spills(ctx):
    assert Mixed(ctx).spills and not UtilAware(ctx).spills
    assert Mixed(ctx).decide(observe(3, 1000)).desired[POOL] == 4


def test_exascale_provisions_30_percent_above_the_prediction(ctx):
    # no forecast at t=0: 1000 x 1.3 / 333.3 = 3.9 -> 4
    assert Exascale(ctx).decide(observe(0, 1000)).desired[POOL] == 4
    assert Exascale(ctx).decide(observe(0, 1100)).desired[POOL] == 5


def test_predictive_uses_the_forecast_when_it_is_higher(scenario):
    rps = np.tile(np.r_[np.full(30, 500.0), np.full(30, 2000.0)], 4)
    ctx = make_context(scenario, rps)
    p = Predictive(ctx)
    # at step 89 the last load is 500 but the seasonal forecast says 2000 next: 2000/(0.8 CAP)
    decided = p.decide(observe(89, 500, history=rps[:89])).desired[POOL]
    assert decided == math.ceil(2000 / (0.8 * CAP))


def test_paragon_picks_cheapest_variant_meeting_accuracy():
    assert choose_variant(default_scenario(), "c6i.xlarge") == "ranker-large"
    assert choose_variant(default_scenario(min_accuracy=0.85), "c6i.xlarge") == "ranker-small"


def test_paragon_sizes_memory_to_one_vcpu(scenario):
    variant = scenario.variant("ranker-large")
    assert size_memory(variant, scenario.serverless, scenario.latency_target_ms) == 1769


def test_paragon_vms_cover_the_steady_median(ctx):
    history = [1000, 1000, 5000, 1000, 1000]  # one spike: left to serverless
    got = Paragon(ctx).decide(observe(3, 1000, history=history)).desired[POOL]
    assert got == math.ceil(1000 / (0.85 * CAP))


def test_cost_aware_thresholds_tighten_with_volatility(ctx):
    p = CostAware(ctx)
    assert p.thresholds(np.full(30, 100.0)) == pytest.approx((0.5, 0.85))
    lower, upper = p.thresholds(np.r_[np.full(15, 50.0), np.full(15, 150.0)])
    assert upper == pytest.approx(0.6) and lower == pytest.approx(0.25)


def test_cost_aware_commits_reserved_base_after_a_day(scenario):
    rps = np.full(1500, 1000.0)
    ctx = make_context(scenario, rps)
    p = CostAware(ctx)
    d = p.decide(observe(1440, 1000, ready=5, util=0.6, history=rps[:1440]))
    assert d.reserve == {"c6i.xlarge": 4}  # 1000 / (0.8 x 333.3) = 3.75 -> 4
    assert d.desired[POOL] == 1  # 5 needed at the band's middle (0.675), 4 reserved
    assert p.batch_option == "spot" and p.spills


def test_oracle_follows_exact_sla_sizing_with_zero_boot(scenario):
    rps = np.array([100.0, 3000.0, 0.0, 1000.0])
    ctx = make_context(scenario, rps)
    p = Oracle(ctx)
    expected = replicas_for_sla(
        rps,
        scenario.variant("ranker-large").profile("c6i.xlarge"),
        scenario,
        scenario.oracle_max_violation,
        1.0,
    )
    assert p.zero_boot and p.pool == ("c6i.xlarge", "spot")
    assert [p.decide(observe(t, 0)).desired[p.pool] for t in range(4)] == list(expected)
    assert expected[2] == 0 and expected[1] >= math.ceil(3000 / CAP)


def test_ballast_uses_safe_cheapest_spot_and_its_break_even_rate(ctx):
    p = Ballast(ctx)
    assert p.pool == ("c6i.xlarge", "spot")
    # functions at 1769 MB (one vCPU: 30 ms; 1024 MB costs the same GB-s but takes 52 ms)
    assert p.serverless_memory_mb == 1769
    # a spot replica-hour (0.068 $) buys this many requests per second of functions for an hour
    per_request = 2e-7 + 1769 / 1024 * 0.030 * 1.66667e-5
    assert p.break_even_rps == pytest.approx(0.068 / 3600 / per_request)


def test_ballast_buys_no_reserved_floor_when_reserved_costs_more_than_spot(scenario):
    day = 1440
    rps = np.full(day + 10, 1000.0)
    p = Ballast(make_context(scenario, rps))
    assert p.reserved_fraction == 0.0  # reserved 0.1125 $/h > spot 0.068 $/h on c6i.xlarge
    assert p.decide(observe(day, 1000, history=rps[:day], pool=p.pool)).reserve == {}


def test_ballast_reserves_the_whole_floor_when_reserved_is_cheaper(scenario):
    cheap = [
        dataclasses.replace(t, reserved_per_hour_usd=0.05) if t.name == "c6i.xlarge" else t
        for t in scenario.instance_types
    ]
    sc = dataclasses.replace(scenario, instance_types=tuple(cheap))
    day = 1440
    rps = np.full(day + 10, 1000.0)
    p = Ballast(make_context(sc, rps))
    d = p.decide(observe(day, 1000, history=rps[:day], pool=p.pool))
    assert d.reserve == {"c6i.xlarge": 4}  # 1000 rps / (0.98 x 333.3 rps) = 3.06 -> 4
    # warm-up sizing less the floor, spread over the spot pools: that capacity, within a replica
    cap = p.spread.capacity_rps
    want = (p.replicas(1300.0) - 4) * cap[p.pool]
    spread = sum(n * cap[pool] for pool, n in d.desired.items())
    assert want <= spread < want + max(cap.values())


def test_ballast_forced_floor_takes_its_fraction_of_the_5th_percentile(scenario):
    day = 1440
    rps = np.full(day + 10, 1000.0)
    p = Ballast(make_context(scenario, rps), reserved_fraction=0.25)
    d = p.decide(observe(day, 1000, history=rps[:day], pool=p.pool))
    assert d.reserve == {"c6i.xlarge": 1}  # 250 rps at full utilization -> 1 replica


def test_ballast_keeps_a_replica_while_its_expected_load_beats_break_even(ctx):
    p = Ballast(ctx)
    p.headroom = 1.0  # a load that never rises within a step: the router spills no more
    # one load in four is 200 rps, the rest 0: a first replica carries 50 rps on average,
    # more than the ~17.8 rps break-even, so it pays; at 40 rps it would carry 10: functions win
    assert p.cheapest_replicas(np.array([0.0, 0.0, 0.0, 200.0])) == 1
    assert p.cheapest_replicas(np.array([0.0, 0.0, 0.0, 40.0])) == 0
    # a known load: the SLA count, less a last replica that would carry under break-even
    one = float(p.table.max_rate_rps[0])
    assert p.cheapest_replicas(np.array([one + 50.0])) == 2
    assert p.cheapest_replicas(np.array([one + 5.0])) == 1


def test_ballast_buys_replicas_for_the_rise_the_router_allows_for(ctx):
    """The router's share covers a step's plausible rise h: n replicas carry c_n / h of L."""
    p = Ballast(ctx)
    one = float(p.table.max_rate_rps[0])
    p.headroom = 1.0
    assert p.cheapest_replicas(np.array([one])) == 1
    p.headroom = 1.5  # the router would send a third of `one` to functions: a replica is cheaper
    assert p.cheapest_replicas(np.array([one])) == 2


def test_expected_excess_is_the_mean_spill_over_the_samples():
    rng = np.random.default_rng(3)
    samples = np.concatenate([rng.gamma(0.5, 300.0, 997), [0.0, 150.0, 150.0]])
    levels = np.array([0.0, 1.0, 150.0, 400.0, samples.max(), samples.max() + 1])
    direct = np.maximum(samples[None, :] - levels[:, None], 0.0).mean(axis=1)
    assert np.allclose(expected_excess(samples, levels), direct, rtol=1e-12, atol=1e-9)
    assert expected_excess(np.array([2.0, 4.0]), np.array([3.0])).tolist() == [0.5]


def test_ballast_error_models_move_the_point_by_their_residuals():
    ratio = Candidate(1, "ratio", deque([math.log(1.1)]), deque())
    gap = Candidate(1, "gap", deque([100.0]), deque())
    sqrt = Candidate(1, "sqrt", deque([2.0]), deque())
    assert ratio.samples(999.0) == pytest.approx([1099.0])  # (999 + 1) x 1.1 - 1
    assert gap.samples(999.0) == pytest.approx([1099.0])
    assert sqrt.samples(99.0) == pytest.approx([119.0])  # 99 + 2 x sqrt(99 + 1)
    assert sqrt.residual(119.0, 99.0) == pytest.approx(2.0)
    assert Candidate(1, "gap", deque([-300.0]), deque()).samples(200.0) == pytest.approx([0.0])


def test_ballast_follows_the_candidate_with_the_lowest_recent_bill(ctx):
    p = Ballast(ctx)
    assert p.leader() is None  # too few scored steps: the warm-up margin decides
    for c in p.candidates:
        c.bills.extend([10.0] * 12)
    p.candidates[4].bills.extend([1.0] * 12)  # mean 5.5 over its 24 scored steps
    assert p.leader() is p.candidates[4]


def test_ballast_scores_each_candidate_by_the_bill_of_its_own_decision(ctx):
    p = Ballast(ctx)
    p.headroom = 1.0
    one = float(p.table.max_rate_rps[0])
    c = p.candidates[0]
    c.pending[7] = (500.0, 1)  # predicted 500 rps, decided 1 replica
    p.score(7, one + 178.0)  # 178 rps over what one replica carries go to functions
    assert c.bills[-1] == pytest.approx(1 + 178.0 / p.break_even_rps)  # ~1 + 10 replica-steps
    assert c.residuals[-1] == pytest.approx(c.residual(one + 178.0, 500.0))


def test_ballast_level_and_shape_are_centred_alike(scenario):
    # a steady ramp: the seasonal-naive forecast repeats yesterday's ramp exactly, so level x
    # shape must land on the ramp's next values (an off-centre shape would lag or lead it)
    day = 1440
    rps = 10.0 + 5.0 * np.tile(np.arange(day, dtype=float), 3)
    p = Ballast(make_context(scenario, rps))
    t = 2 * day + 60
    point = p.predict(t, rps[:t], span=3)
    assert point == pytest.approx(rps[t : t + p.lead], rel=1e-3)
    flat = p.predict(t, rps[:t], span=3, shaped=False)  # the level alone: the last 3 steps
    assert flat.tolist() == [pytest.approx(rps[t - 3 : t].mean())] * p.lead


def test_ballast_keeps_a_shaped_and_a_flat_candidate_per_span_and_error_model(ctx):
    kinds = [(c.span, c.errors, c.shaped) for c in Ballast(ctx).candidates]
    assert len(set(kinds)) == len(kinds) == 2 * len(LEVEL_SPANS) * len(ERROR_MODELS)
    assert {shaped for _, _, shaped in kinds} == {True, False}


def test_ballast_sizes_flat_load_to_sla_with_margin(ctx, scenario):
    p = Ballast(ctx)
    d = p.decide(observe(5, 1000, history=np.full(5, 1000.0), pool=p.pool))
    profile = scenario.variant("ranker-large").profile("c6i.xlarge")
    high = 1300.0 * math.exp(WARMUP_RISE)  # what the router's share lets the replicas carry
    n = replicas_for_sla(np.array([high]), profile, scenario, 0.002)[0]
    cap = p.spread.capacity_rps  # n replicas of c6i.xlarge spot, spread over the spot pools
    spread = sum(k * cap[pool] for pool, k in d.desired.items())
    assert n * cap[p.pool] <= spread < n * cap[p.pool] + max(cap.values())
    assert max(d.desired.values()) * cap[p.pool] <= 0.5 * spread + max(cap.values())


def test_break_even_rate_of_functions_against_a_spot_replica(scenario):
    from policies.serverless import break_even_rps

    v = scenario.variant("ranker-large")
    per_request = 2e-7 + 1769 / 1024 * 0.030 * 1.66667e-5
    assert break_even_rps(0.068, v, scenario.serverless, 1769) == pytest.approx(
        0.068 / 3600 / per_request
    )  # ~17.8 rps


def test_the_spill_router_keeps_a_fifth_of_the_slas_allowance_or_what_service_allows(scenario):
    from policies.sizing import router_max_late

    assert router_max_late(scenario, 12.0) == pytest.approx(0.002)  # p99: 1 % / 5
    assert router_max_late(dataclasses.replace(scenario, latency_percentile=95), 12.0) == (
        pytest.approx(0.01)
    )
    slow = router_max_late(scenario, 20.0)  # exp(-100 / 20) = 0.0067 late with no queue at all
    assert slow == pytest.approx((math.exp(-5) + 0.01) / 2)
    with pytest.raises(ValueError, match="no replica count of c6i.xlarge keeps"):
        SlaTable(VariantProfile("c6i.xlarge", 4, 30.0), scenario, router_max_late(scenario, 30), 8)


def test_oracle_leaves_a_nearly_idle_last_replica_to_functions(scenario):
    # 5 rps: one replica costs 0.068 $/h, functions 5 x 3600 x ~1.06e-6 = 0.019 $/h
    rps = np.array([5.0, 100.0, 0.0])
    p = Oracle(make_context(scenario, rps))
    assert p.spills
    assert [p.decide(observe(t, 0)).desired[p.pool] for t in range(3)] == [0, 1, 0]


def test_mean_around_averages_the_neighbours_of_each_step_and_leaves_it_out():
    assert mean_around(np.array([1.0, 2.0, 3.0]), 3).tolist() == [2.0, 2.0, 2.0]
    assert mean_around(np.array([0.0, 0.0, 9.0, 0.0, 0.0]), 3).tolist() == [0, 4.5, 0, 4.5, 0]
    assert mean_around(np.array([0.0, 8.0, 0.0, 0.0]), 5).tolist() == [4.0, 0.0, 8 / 3, 4.0]
    assert mean_around(np.array([7.0]), 5).tolist() == [7.0]


def test_trailing_mean_averages_the_values_known_a_lag_before_each_step():
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert trailing_mean(values, 2, 2).tolist() == [1.0, 1.0, 1.0, 1.5, 2.5]
    assert trailing_mean(values, 1, 1).tolist() == [1.0, 1.0, 2.0, 3.0, 4.0]


def test_rate_oracles_are_references_beside_the_policies(ctx):
    assert REFERENCES == {"rate_oracle": RateOracle, "trailing_rate": TrailingRate}
    assert not set(REFERENCES) & set(POLICIES)
    for name, kind in REFERENCES.items():
        p = make_policy(name, ctx)
        assert type(p) is kind and p.zero_boot and p.spills


def test_trailing_rate_knows_the_loads_up_to_ballasts_lead_before_each_step(scenario):
    # c6i.xlarge boots in 60 s, one 60 s step: ballast decides at t on loads up to t - 1 for
    # replicas serving from t + 1, so what it knows of a step's rate ends two steps before it.
    rps = np.arange(1.0, 41.0) * 100
    ctx = make_context(scenario, rps)
    p = TrailingRate(ctx)
    assert Ballast(ctx).lead == 2
    assert p.known_rate(ctx, 5).tolist() == trailing_mean(rps, 5, 2).tolist()
    assert p.known_rate(ctx, 5)[10] == np.mean(rps[4:9])
    steady = make_context(scenario, np.full(30, 1000.0))
    assert TrailingRate(steady).plan.tolist() == RateOracle(steady).plan.tolist()


def test_rate_oracle_sizes_a_steady_load_exactly(scenario):
    p = RateOracle(make_context(scenario, np.full(30, 1000.0)))
    profile = scenario.variant("ranker-large").profile("c6i.xlarge")
    need = SlaTable(profile, scenario, 0.002, 20).replicas(1000.0)
    assert p.pool == ("c6i.xlarge", "spot")
    assert set(p.plan.tolist()) == {need}


def test_rate_oracle_covers_the_spread_it_cannot_foresee(scenario):
    # One step in five carries 1250 rps, the others 1000. Knowing the rate but not the draw,
    # the rate oracle buys at every step what carries a spike when the router's share allows
    # for the trace's plausible one-step rise h (a spike's own jump over its level); the exact
    # oracle knows each draw and routes on it, so replicas for 1250 rps do.
    rps = np.tile([1000.0, 1000.0, 1000.0, 1000.0, 1250.0], 16)
    ctx = make_context(scenario, rps)
    p, exact = RateOracle(ctx), Oracle(ctx)
    table = SlaTable(scenario.variant("ranker-large").profile("c6i.xlarge"), scenario, 0.002, 20)
    h = trace_rise(rps)  # a spike over the level of the six steps before it
    assert 1251 / (np.mean([1000] * 5 + [1250]) + 1) <= h <= 1251 / 1001
    assert set(p.plan.tolist()) == {table.replicas(1250.0 * h)}
    assert set(exact.plan.tolist()) == {table.replicas(1250.0)} != {table.replicas(1250.0 * h)}


def test_ballast_leaves_a_nearly_idle_last_replica_to_functions(ctx):
    p = Ballast(ctx)
    p.headroom = 1.0
    assert p.replicas(5.0) == 0 and p.replicas(100.0) == 1
    one = float(p.table.max_rate_rps[0])  # what one replica carries within the SLA
    assert p.replicas(one + 5.0) == 1 and p.replicas(one + 50.0) == 2


class FakeFeed:
    """Forecasts known by hand: p50 = 100 + i at the i-th step ahead, p90 +50, p99 +100."""

    refit_steps = 60

    def at(self, t, horizon, level=0.0):
        return 100.0 + np.arange(horizon) + {0.5: 0.0, 0.9: 50.0, 0.99: 100.0}[level]


def test_gapso_problem_takes_each_intervals_peak_of_the_forecast_quantiles(ctx):
    p = GAPSO(ctx, forecasts=FakeFeed())
    problem = p.problem(60)
    # 60 + 5 steps in 13 intervals of 5: the p50 peak of interval i is 100 + 5 i + 4
    assert problem.interval_s == 300
    assert problem.demand.levels == (0.5, 0.9, 0.99)
    assert problem.demand.rps[0] == tuple(104.0 + 5 * i for i in range(13))
    assert problem.demand.rps[2][0] == 204.0
    assert [o.name for o in problem.offers][:2] == ["c6i.xlarge/on_demand", "c6i.xlarge/spot"]
    assert problem.offers[1].price_per_hour_usd == pytest.approx(0.068)


def test_gapso_follows_the_solved_plan_step_by_step(ctx, monkeypatch):
    p = GAPSO(ctx, forecasts=FakeFeed())
    names = tuple(o.name for o in p.offers)
    counts = np.zeros((13, len(names)), dtype=int)
    counts[:, 1] = np.arange(1, 14)  # c6i.xlarge/spot: i + 1 replicas in interval i
    counts[0, 3] = 2  # c5.xlarge/spot: 2 in the first interval only
    solved = SimpleNamespace(offer_names=names, counts=counts)
    monkeypatch.setattr("policies.gapso.solve", lambda *a, **k: solved)
    # before the first refit: reactive at 80 % on on-demand, 1000 / (0.8 x 333.3) -> 4
    assert p.decide(observe(0, 1000)).desired[POOL] == 4
    first = p.decide(observe(60, 1000)).desired
    assert first[("c6i.xlarge", "spot")] == 1 and first[("c5.xlarge", "spot")] == 2
    assert first[POOL] == 0  # every pool of the plan is named, so the fallback is drained
    later = p.decide(observe(66, 1000)).desired  # (66 - 60) // 5 = interval 1
    assert later[("c6i.xlarge", "spot")] == 2 and later[("c5.xlarge", "spot")] == 0


def test_gapso_plans_from_a_seeded_lstm_refitted_every_12_hours(scenario):
    from forecasting.models.lstm import Lstm
    from policies.gapso import LSTM_ITERATIONS

    minutes = np.arange(3 * 1440)
    rps = 1000.0 + 500.0 * np.sin(2 * np.pi * minutes / 1440)
    ctx = make_context(scenario, rps)
    first, second = GAPSO(ctx), GAPSO(ctx)
    assert first.forecasts.refit_steps == 720 and first.refit_steps == 60
    model = first.forecasts.make_model().make_model()
    assert isinstance(model, Lstm) and model.iterations == LSTM_ITERATIONS
    assert first.forecasts.at(700, 65) is None  # nothing before the first refit
    forecast = first.forecasts.at(780, 65, 0.9)
    assert forecast is not None and np.array_equal(forecast, second.forecasts.at(780, 65, 0.9))
