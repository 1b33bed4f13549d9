import math

import numpy as np
import pytest

from optimization.queueing import (
    erlang_c,
    mixture_quantile,
    response_quantile,
    response_survival,
    wait_probability,
)


def erlang_c_closed_form(c, a):
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def test_erlang_c_single_server_is_utilization():
    assert erlang_c(np.array([1]), np.array([0.7]))[0] == pytest.approx(0.7)


def test_erlang_c_two_servers_half_loaded_is_one_third():
    assert erlang_c(np.array([2]), np.array([1.0]))[0] == pytest.approx(1 / 3)


@pytest.mark.parametrize(("c", "a"), [(10, 8.0), (5, 2.5), (40, 36.0), (3, 0.1)])
def test_erlang_c_matches_closed_form(c, a):
    assert erlang_c(np.array([c]), np.array([a]))[0] == pytest.approx(erlang_c_closed_form(c, a))


def test_erlang_c_known_table_value():
    # Textbook Erlang C table: 10 agents, 8 Erlangs -> P(wait) = 0.409
    assert erlang_c(np.array([10]), np.array([8.0]))[0] == pytest.approx(0.409, abs=5e-4)


def test_erlang_c_is_one_when_unstable():
    assert erlang_c(np.array([2]), np.array([2.5]))[0] == 1.0


def test_mm1_response_tail_is_exponential_in_mu_minus_lambda():
    mu, lam, t = 100.0, 60.0, 0.05
    c = erlang_c(np.array([1]), np.array([lam / mu]))
    got = response_survival(t, np.array([1]), mu, lam, c)[0]
    assert got == pytest.approx(math.exp(-(mu - lam) * t))


def test_mm1_response_p99_matches_closed_form():
    mu, lam = 100.0, 60.0
    c = erlang_c(np.array([1]), np.array([lam / mu]))
    q = response_quantile(0.99, np.array([1]), mu, lam, c)[0]
    assert q == pytest.approx(math.log(100) / (mu - lam), rel=1e-6)


def test_response_tail_at_theta_equal_mu_uses_the_limit():
    # c=2, mu=1, lambda=1: theta = 2 - 1 = 1 = mu
    c = erlang_c(np.array([2]), np.array([1.0]))
    got = response_survival(1.0, np.array([2]), 1.0, 1.0, c)[0]
    assert got == pytest.approx(math.exp(-1) * (1 + c[0]))


def test_mixture_quantile_of_point_masses():
    latencies = np.array([0.01, 0.2])
    weights = np.array([98.0, 2.0])
    p99 = mixture_quantile(0.99, lambda t: (latencies > t).astype(float), weights, 1.0)
    assert p99 == pytest.approx(0.2, abs=1e-6)


def test_the_per_step_form_is_erlang_c_on_integer_servers_and_takes_empty_steps():
    servers, load = np.array([1, 2, 10, 0, 3]), np.array([0.7, 1.0, 8.0, 0.5, 3.5])
    got = wait_probability(servers.astype(float), load)  # server counts as floats too
    assert np.array_equal(got, np.clip(erlang_c(servers, load), 0, 1))
    assert got[3] == 1.0 and got[4] == 1.0  # no server, or more load than servers: all wait
    assert wait_probability(np.array([], int), np.array([])).shape == (0,)
