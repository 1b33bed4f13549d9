"""From forecast steps to planning intervals, and the front's points to plan candidates."""

import numpy as np
import pytest

from optimization.pareto import pareto_front
from optimization.planning import (
    candidates,
    cost_per_day,
    demand_from_forecast,
    peak_demand,
)
from optimization.problem import Offer
from optimization.suite import bench_suite


def test_each_interval_carries_its_busiest_step_in_requests_per_second():
    counts = {0.5: [60, 120, 180, 60, 60, 600], 0.9: [120, 120, 120, 120, 120, 120]}
    demand = demand_from_forecast(counts, step_s=60, interval_s=180, counts=True)
    assert demand.levels == (0.5, 0.9)
    assert demand.rps == ((3.0, 10.0), (3.0, 10.0))  # the 0.9 series never below the 0.5 one


def test_rates_are_kept_and_a_partial_last_interval_dropped():
    demand = demand_from_forecast({0.5: [1, 2, 3, 4, 5]}, step_s=60, interval_s=120, counts=False)
    assert demand.rps == ((2.0, 4.0),)


def test_intervals_must_divide_and_cover_a_step():
    with pytest.raises(ValueError, match="multiple of the forecast step"):
        demand_from_forecast({0.5: [1, 2]}, step_s=60, interval_s=90, counts=True)
    with pytest.raises(ValueError, match="less than one planning interval"):
        demand_from_forecast({0.5: [1, 2]}, step_s=60, interval_s=3600, counts=True)


def test_cost_per_day_prices_each_offer():
    offers = (Offer("a/spot", "a", "spot", 0.5), Offer("b/on_demand", "b", "on_demand", 1.0))
    assert cost_per_day({"a/spot": 2, "b/on_demand": 1}, offers) == pytest.approx(48.0)


def test_candidates_carry_schedule_cost_per_day_and_options():
    problem = next(p for p in bench_suite() if p.name == "small-6x8x2")
    front = pareto_front(problem)
    result = candidates(problem, front)
    horizon_days = problem.n_intervals * problem.interval_s / 86_400
    for candidate, point in zip(result, front, strict=True):
        assert candidate.cost_per_day_usd == pytest.approx(point.cost_usd / horizon_days, rel=1e-6)
        assert len(candidate.schedule) == problem.n_intervals
        assert candidate.replicas == tuple(np.asarray(point.solution.counts).sum(axis=1).tolist())
        assert set(candidate.purchase_options) <= {"on_demand", "spot", "reserved"}


def test_peak_demand_is_the_promised_load_every_interval_and_refuses_nonsense():
    demand = peak_demand(5000.0, 24)
    assert demand.levels == (0.99,) and demand.rps == ((5000.0,) * 24,)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="peak_rps"):
            peak_demand(bad, 24)
    with pytest.raises(ValueError, match="n_intervals"):
        peak_demand(100.0, 0)
