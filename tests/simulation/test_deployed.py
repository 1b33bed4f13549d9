"""`ballast` as deployed: the controller inside plans made and approved at their cadence."""

import numpy as np
import pytest

from policies.base import Decision
from policies.envelope import Bounds, Envelope, clamp, cost_per_rps, price_per_hour
from simulation.deployed import Deployed, make_plan
from simulation.measure import measure_envelopes
from simulation.run import replay_decisions
from tests.simulation.conftest import make_context, make_load


def daily_shape(hours, seed=0):
    """Minutes of a load that swells and ebbs twice a day, with noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(hours * 60)
    return 1500 + 1000 * np.sin(t / 1440 * 4 * np.pi) ** 2 + rng.normal(0, 60, len(t))


def run(scenario, rps, **kwargs):
    ctx = make_context(scenario, rps)
    policy = Deployed(ctx, start_s=0.0, **kwargs)
    return policy, replay_decisions(policy, ctx)


def test_before_a_plan_is_approved_the_fleet_is_left_as_it_started(scenario):
    policy, decided = run(scenario, daily_shape(2), onboarding=False)
    first_plan = policy.plans[0]
    assert first_plan.made == 48  # the first step with enough history to forecast
    assert first_plan.approved == 48 + 60  # an hour from proposal to the second approval
    held = [desired for desired, _ in decided[: first_plan.approved]]
    assert all(d == held[0] for d in held) and policy.held_steps == first_plan.approved


def test_a_new_workload_runs_inside_its_onboarding_plan_until_a_forecast_plan_is_approved(
    scenario,
):
    rps = daily_shape(3)
    policy, decided = run(scenario, rps)
    onboarding, first = policy.plans[:2]
    assert (onboarding.made, onboarding.approved) == (0, 0) and policy.held_steps == 0
    assert onboarding.figures["measured"] is None  # nothing to replay yet
    assert (first.made, first.approved) == (48, 108)  # as without one: forecast, then approve
    # Its ceiling serves the load the SLA is promised at, every hour of the day.
    capacity = max(p.capacity_rps for p in scenario.variant(policy.variant).profiles)
    assert len(set(onboarding.hours)) == 1
    assert onboarding.hours[0].max_replicas * capacity >= scenario.peak_rps
    ctx = make_context(scenario, rps)
    wanted = replay_decisions(Deployed(ctx, start_s=0.0).inner, ctx)
    ranks = cost_per_rps(scenario, policy.variant)
    prices = price_per_hour(scenario, policy.variant)
    for t in range(first.approved):
        alone = clamp(Decision(wanted[t][0]), onboarding.hours[0], ranks, prices)
        assert decided[t][0] == alone.decision.desired
    assert len({tuple(sorted(d.items())) for d, _ in decided[: first.approved]}) > 1


def test_inside_an_approved_plan_every_step_is_the_controllers_decision_clamped(scenario):
    rps = daily_shape(8)
    policy, decided = run(scenario, rps)
    ctx = make_context(scenario, rps)
    wanted = replay_decisions(Deployed(ctx, start_s=0.0).inner, ctx)
    ranks = cost_per_rps(scenario, policy.variant)
    prices = price_per_hour(scenario, policy.variant)
    checked = 0
    for t, (desired, _) in enumerate(decided):
        in_force = [p for p in policy.plans if p.approved <= t]
        if not in_force or in_force[-1].bounds_at(t, 60) is None:
            continue
        bounds = in_force[-1].bounds_at(t, 60)
        assert sum(desired.values()) <= bounds.max_replicas
        assert sum(n for (_, option), n in desired.items() if option != "spot") >= min(
            bounds.min_non_spot, bounds.max_replicas
        )
        checked += 1
    assert checked > 6 * 60
    # Until it first wants more than the ceiling, each step is the unbounded controller's own
    # decision brought inside the hour (the floor, the options), as the live controller applies.
    start = policy.plans[0].approved
    t = start
    while t < len(rps):
        bounds = [p for p in policy.plans if p.approved <= t][-1].bounds_at(t, 60)
        alone = clamp(Decision(wanted[t][0]), bounds, ranks, prices)
        if alone.over:
            break
        assert decided[t][0] == alone.decision.desired
        t += 1
    assert t > start


def test_plans_are_remade_at_their_cadence(scenario):
    policy, _ = run(scenario, daily_shape(8), plan_every_s=3 * 3600)
    made = [p.made for p in policy.plans][1:]  # after the onboarding plan
    assert made[0] == 48 and all(b - a >= 60 for a, b in zip(made, made[1:], strict=False))
    assert len(made) >= 8 * 60 // 180


def test_a_controller_held_under_the_ceiling_asks_for_a_plan_within_the_hour(scenario):
    rps = np.concatenate([daily_shape(4), np.full(180, 9000.0)])  # a surge past every forecast
    policy, _ = run(scenario, rps, plan_every_s=24 * 3600)
    assert policy.clamped_steps > 0
    surge = 4 * 60
    asked = [p.made for p in policy.plans if p.made >= surge]
    assert asked and asked[0] - surge <= 60
    assert all(b - a >= 60 for a, b in zip(asked, asked[1:], strict=False))


def test_a_plan_is_the_cheapest_candidate_meeting_the_sla_as_replayed(scenario):
    history = daily_shape(6)
    hours, figures = make_plan(
        history,
        scenario,
        scenario.default_variant,
        step_s=60,
        start_s=6 * 3600.0,
        initial_replicas=4,
        seed=0,
    )
    assert len(hours) == 24 and figures["candidates"] >= 3
    assert figures["measured"]["policy"] == "ballast_controller"
    assert figures["measured"]["replayed_h"] == pytest.approx(6)
    assert figures["measured"]["sla_violation_rate"] <= 0.01
    assert all(b.max_replicas >= b.min_non_spot for b in hours)


def test_a_roomier_envelope_than_one_that_never_bound_is_measured_as_the_same_replay(scenario):
    rps = daily_shape(3)
    load = make_load(rps)
    roomy = Envelope("ranker-large", (Bounds(60, 1, ("on_demand", "spot"), 50.0),) * 24)
    tight = Envelope("ranker-large", (Bounds(3, 1, ("on_demand", "spot"), 50.0),) * 24)
    roomier = roomy.widened(2)
    together = measure_envelopes(load, scenario, [roomy, tight, roomier], first_hour_utc=0)
    alone = measure_envelopes(load, scenario, [roomier], first_hour_utc=0)
    assert together[2] == alone[0] == together[0]  # reused, and what a replay gives
    assert together[1] != together[0]  # a ceiling that binds is replayed, not reused
    assert not tight.roomier(roomy) and roomier.roomier(roomy)
