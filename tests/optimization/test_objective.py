import math

import numpy as np
import pytest

from optimization.layout import layout_problem
from optimization.objective import evaluate_population
from optimization.problem import Weights
from optimization.queueing import erlang_c, response_tail


def erlang_c_closed_form(c: int, a: float) -> float:
    """docs/cost-model.md section 8, with factorials (fine for small c)."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize(
    ("c", "a"), [(1, 0.5), (2, 1.0), (3, 2.5), (5, 4.0), (10, 7.3), (20, 18.0)]
)
def test_erlang_c_matches_the_closed_form(c, a):
    got = erlang_c(np.array([float(c)]), np.array([a]))[0]
    assert got == pytest.approx(erlang_c_closed_form(c, a), rel=1e-10)


def test_erlang_c_textbook_values():
    # M/M/1: P(wait) = rho; M/M/2 at a = 1 Erlang: 1/3.
    got = erlang_c(np.array([1.0, 2.0]), np.array([0.7, 1.0]))
    np.testing.assert_allclose(got, [0.7, 1 / 3], rtol=1e-12)


def test_erlang_c_is_stable_for_large_pools():
    got = erlang_c(np.array([400.0]), np.array([380.0]))[0]
    assert 0 < got < 1 and math.isfinite(got)


def test_mm1_response_tail_is_exponential():
    # M/M/1 sojourn time is exponential with rate mu - lambda.
    mu, lam, t = 10.0, 7.0, 0.3
    c = erlang_c(np.array([1.0]), np.array([lam / mu]))
    got = response_tail(c, np.array([mu]), np.array([mu - lam]), t)[0]
    assert got == pytest.approx(math.exp(-(mu - lam) * t), rel=1e-9)


def test_population_evaluation_equals_one_by_one(medium_problem):
    layout = layout_problem(medium_problem)
    rng = np.random.default_rng(5)
    population = rng.integers(0, 4, size=(7, layout.n_intervals, layout.n_options)).astype(float)
    together = evaluate_population(population, layout, Weights()).penalized_usd
    alone = [evaluate_population(p[None], layout, Weights()).penalized_usd[0] for p in population]
    np.testing.assert_allclose(together, alone, rtol=1e-12)


def test_compute_cost_is_price_times_hours(small_problem):
    layout = layout_problem(small_problem)
    counts = np.ones((1, layout.n_intervals, layout.n_options))
    cost = evaluate_population(counts, layout, Weights.cost_only()).compute_cost_usd[0]
    hours = layout.interval_h * layout.n_intervals
    expected = (layout.price_per_hour_usd.sum() + layout.committed_usd_per_hour) * hours
    assert cost == pytest.approx(expected)


def test_more_capacity_lowers_sla_risk(small_problem):
    layout = layout_problem(small_problem)
    k = int(np.argmax(layout.capacity_rps))
    need = np.ceil(layout.scenario_rps.max() / layout.usable_capacity_rps[k])
    population = np.zeros((3, layout.n_intervals, layout.n_options))
    population[:, :, k] = np.array([need - 1, need, need + 3])[:, None]
    risk = evaluate_population(population, layout, Weights()).sla_violation_rate
    assert risk[0] > risk[1] > risk[2] >= 0
