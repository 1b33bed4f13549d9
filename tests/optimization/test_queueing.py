import math

import numpy as np
import pytest

from optimization.queueing import (
    erlang_c,
    mixture_quantile,
    response_quantile,
    response_survival,
    service_phases,
    service_survival,
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


def mmc_survival_before_service_cv(t_s, servers, mu, lam, wait_prob):
    """`response_survival` as it was before it took a service CV (M/M/c only)."""
    theta = servers * mu - lam
    diff = theta - mu
    e_mu = np.exp(-mu * t_s)
    near = np.abs(diff) < 1e-9 * np.maximum(mu, 1.0)
    safe = np.where(near, 1.0, diff)
    general = e_mu + wait_prob * mu / safe * (e_mu - np.exp(-theta * t_s))
    limit = e_mu * (1 + wait_prob * mu * t_s)
    return np.clip(np.where(near, limit, general), 0.0, 1.0)


def test_service_cv_one_is_the_old_mmc_tail_bit_for_bit():
    servers = np.array([1, 2, 2, 4, 40, 3])
    mu = np.array([100.0, 1.0, 50.0, 80.0, 70.0, 10.0])
    lam = np.array([60.0, 1.0, 20.0, 300.0, 2500.0, 29.0])  # c=2, mu=lambda=1: theta = mu
    wait = wait_probability(servers, lam / mu)
    for t_s in (0.0, 0.004, 0.05, 1.0, 3.0):
        old = mmc_survival_before_service_cv(t_s, servers, mu, lam, wait)
        assert np.array_equal(response_survival(t_s, servers, mu, lam, wait), old)
        assert np.array_equal(response_survival(t_s, servers, mu, lam, wait, 1.0), old)


@pytest.mark.parametrize("cv", [0.0, 0.04, 0.5, 1.0, 1.5, 3.0])
def test_service_law_matches_the_mean_and_the_cv(cv):
    mu = 50.0
    shift, phases = service_phases(mu, cv)
    mean = shift + sum(w / r for w, r in phases)
    variance = sum(w * 2 / r**2 for w, r in phases) - (mean - shift) ** 2  # of the phases
    assert mean == pytest.approx(1 / mu)
    assert math.sqrt(max(variance, 0.0)) * mu == pytest.approx(cv, abs=1e-6)


def test_service_survival_is_exponential_at_cv_one_and_a_step_at_zero():
    assert service_survival(0.01, 100.0, 1.0) == pytest.approx(math.exp(-1))
    assert service_survival(0.0099, 100.0, 0.0) == 1.0
    assert service_survival(0.0101, 100.0, 0.0) == pytest.approx(0.0, abs=1e-12)


def md1_wait_cdf(x, lam, d):
    """Exact M/D/1 waiting-time CDF (Erlang 1909; Franx 2001, Oper. Res. Lett. 29, eq. 1)."""
    terms = (
        (lam * (k * d - x)) ** k / math.factorial(k) * math.exp(-lam * (k * d - x))
        for k in range(int(x // d) + 1)
    )
    return (1 - lam * d) * math.fsum(terms)


def md1_response_quantile(q, lam, d):
    lo, hi = 0.0, 40 * d
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if md1_wait_cdf(mid, lam, d) < q else (lo, mid)
    return hi + d


@pytest.mark.parametrize(("rho", "tolerance"), [(0.5, 0.15), (0.7, 0.1), (0.8, 0.1), (0.9, 0.05)])
def test_cv_zero_p99_is_near_the_exact_md1_p99(rho, tolerance):
    # exact M/D/1 p99 (service 1 s): 4.34 s at rho 0.5, 7.49 at 0.7, 11.36 at 0.8, 22.90 at 0.9
    c = wait_probability(np.array([1]), np.array([rho]))
    got = response_quantile(0.99, np.array([1]), 1.0, rho, c, service_cv=0.0)[0]
    exact = md1_response_quantile(0.99, rho, 1.0)
    assert got == pytest.approx(exact, rel=tolerance)
    mm1 = response_quantile(0.99, np.array([1]), 1.0, rho, c)[0]
    assert mm1 > 1.7 * exact  # what exponential service made of it


@pytest.mark.parametrize("rho", [0.3, 0.7, 0.9])
def test_cv_zero_mean_response_is_pollaczek_khinchine_for_one_server(rho):
    # M/D/1: E[R] = D + rho D / (2 (1 - rho)), exact; the model's wait mean is exact at c = 1
    c = wait_probability(np.array([1]), np.array([rho]))
    t = np.linspace(0.0, 200.0, 400_001)
    survival = response_survival(t, np.array([1]), 1.0, rho, c, 0.0)
    mean = float(np.sum((survival[1:] + survival[:-1]) / 2) * (t[1] - t[0]))
    assert mean == pytest.approx(1 + rho / (2 * (1 - rho)), rel=1e-3)


def fcfs_deterministic_responses(servers, rho, n, seed):
    """An M/D/c FCFS queue, service 1 s, simulated (Kiefer-Wolfowitz); the last 90 %."""
    arrivals = np.cumsum(np.random.default_rng(seed).exponential(1 / (servers * rho), n))
    free_at = [0.0] * servers
    response = np.empty(n)
    for i, arrive in enumerate(arrivals.tolist()):
        k = min(range(servers), key=free_at.__getitem__)
        free_at[k] = max(arrive, free_at[k]) + 1.0
        response[i] = free_at[k] - arrive
    return response[n // 10 :]


@pytest.mark.parametrize("rho", [0.7, 0.9])
def test_cv_zero_p99_is_near_a_simulated_md2_queue(rho):
    simulated = np.quantile(fcfs_deterministic_responses(2, rho, 100_000, seed=1), 0.99)
    c = wait_probability(np.array([2]), np.array([2 * rho]))
    got = response_quantile(0.99, np.array([2]), 1.0, 2 * rho, c, service_cv=0.0)[0]
    assert got == pytest.approx(simulated, rel=0.1)


@pytest.mark.parametrize(("servers", "rho"), [(1, 0.3), (1, 0.9), (4, 0.7), (16, 0.3)])
def test_p99_grows_with_the_service_cv(servers, rho):
    c = wait_probability(np.array([servers]), np.array([servers * rho]))
    cvs = [0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0]
    p99 = [
        response_quantile(0.99, np.array([servers]), 1.0, servers * rho, c, service_cv=cv)[0]
        for cv in cvs
    ]
    assert (np.diff(p99) > 0).all()


def test_survival_is_monotone_in_cv_at_every_time_per_step():
    servers, mu, lam = np.array([2, 2]), np.array([100.0, 100.0]), np.array([140.0, 140.0])
    wait = wait_probability(servers, lam / mu)
    cv = np.array([0.3, 0.6])  # per step, as metrics passes it
    for t_s in (0.02, 0.05, 0.1):
        low, high = response_survival(t_s, servers, mu, lam, wait, cv)
        assert low < high
