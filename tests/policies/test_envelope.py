"""The envelope: a decision brought inside what two people approved for the hour."""

import pytest

from optimization.solution import schedule_from_json
from policies.base import Decision
from policies.envelope import Bounds, Envelope, clamp, envelope_hours, widen

SPOT, OD, OD_M5 = ("c6i.xlarge", "spot"), ("c6i.xlarge", "on_demand"), ("m5.large", "on_demand")
COST = {SPOT: 0.0002, OD: 0.0006, OD_M5: 0.0008}  # USD per hour per rps carried


def test_a_decision_inside_the_bounds_is_applied_as_it_is():
    result = clamp(Decision({SPOT: 5, OD: 1}), Bounds(max_replicas=10, min_non_spot=1), COST)
    assert result.decision.desired == {SPOT: 5, OD: 1} and result.note == "" and not result.over


def test_above_the_ceiling_the_dearest_pools_give_back_first_never_below_the_floor():
    result = clamp(Decision({SPOT: 6, OD: 3}), Bounds(max_replicas=5, min_non_spot=2), COST)
    assert result.decision.desired == {SPOT: 3, OD: 2}
    assert result.over and result.wanted == 9
    assert "wanted 9 replicas, 5 approved for the hour" in result.note


def test_spot_replicas_become_on_demand_up_to_the_floor():
    result = clamp(Decision({SPOT: 6}), Bounds(max_replicas=10, min_non_spot=2), COST)
    assert result.decision.desired == {SPOT: 4, OD: 2} and "non-spot floor 2" in result.note


def test_a_floor_larger_than_the_spot_replicas_adds_on_demand_ones():
    result = clamp(Decision({SPOT: 1}), Bounds(max_replicas=10, min_non_spot=3), COST)
    assert result.decision.desired == {SPOT: 0, OD: 3}


def test_replicas_of_an_option_not_approved_move_to_the_cheapest_approved_pool():
    result = clamp(Decision({SPOT: 4}), Bounds(max_replicas=10, options=("on_demand",)), COST)
    assert result.decision.desired == {SPOT: 0, OD: 4}
    assert "spot is not approved: moved to on_demand" in result.note


PRICE = {SPOT: 0.068, OD: 0.17, OD_M5: 0.096}  # USD per replica-hour


def test_above_the_spend_ceiling_the_dearest_replicas_go_first_never_below_the_floor():
    bounds = Bounds(max_replicas=10, min_non_spot=1, max_usd_per_hour=0.5)
    result = clamp(Decision({SPOT: 4, OD: 2}), bounds, COST, PRICE)  # 0.612 $/h wanted
    assert result.decision.desired == {SPOT: 4, OD: 1}  # 0.442 $/h: the floor's one stays
    assert result.over and "$0.61/h wanted, $0.50/h approved" in result.note
    tight = clamp(Decision({OD: 3}), Bounds(10, min_non_spot=3, max_usd_per_hour=0.1), COST, PRICE)
    assert tight.decision.desired == {OD: 3}  # the floor wins over the spend


def test_a_schedule_priced_as_planned_gives_each_hour_its_spend_ceiling():
    schedule = schedule_from_json(
        [
            [
                {"offer": "c6i.xlarge/spot", "variant": "v", "count": 3},
                {"offer": "c6i.xlarge/on_demand", "variant": "v", "count": 1},
            ],
            [{"offer": "c6i.xlarge/spot", "variant": "v", "count": 1}],
        ]
    )
    prices = {"c6i.xlarge/spot": 0.068, "c6i.xlarge/on_demand": 0.17}
    hours = envelope_hours(schedule, prices)
    assert [h.max_usd_per_hour for h in hours] == [pytest.approx(0.374), pytest.approx(0.068)]
    assert [(h.max_replicas, h.min_non_spot) for h in hours] == [(4, 1), (1, 0)]
    assert envelope_hours(schedule)[0].max_usd_per_hour is None  # unpriced: no ceiling
    stored = Envelope("ranker-small", tuple(hours)).to_json()
    assert stored["variant"] == "ranker-small" and Envelope.from_json(stored).hours == tuple(hours)


def test_bounds_refuse_negative_counts_and_unknown_options():
    with pytest.raises(ValueError, match="max_replicas and min_non_spot must be >= 0"):
        Bounds(max_replicas=-1)
    with pytest.raises(ValueError, match="options must be a non-empty subset"):
        Bounds(max_replicas=1, options=("savings_plan",))


def test_an_enveloped_policy_decides_as_its_inner_one_then_clamps_and_keeps_its_state(scenario):
    from policies import make_policy
    from policies.envelope import Enveloped
    from tests.simulation.conftest import make_context, observe

    ctx = make_context(scenario, [9000.0] * 5)
    inner = make_policy("ballast_controller", ctx)
    bounded = Enveloped(inner, lambda t: Bounds(max_replicas=2) if t else None, scenario)

    free = bounded.decide(observe(0, 9000.0, history=[9000.0]))
    capped = bounded.decide(observe(1, 9000.0, history=[9000.0]))

    assert sum(free.desired.values()) > 2 and sum(capped.desired.values()) == 2
    assert bounded.state() == inner.state() and bounded.name == "ballast_controller"


def test_a_margin_widens_the_ceilings_and_keeps_the_floor_and_options():
    hours = [Bounds(4, 1, ("on_demand", "spot"), 1.2), Bounds(3, 0, ("spot",), None)]
    wide = widen(hours, 1.5)
    assert wide == [Bounds(6, 1, ("on_demand", "spot"), 1.8), Bounds(5, 0, ("spot",), None)]
    assert widen(hours, 1.0) == hours
