"""The M/M/c (Erlang C) latency model (docs/cost-model.md section 8): one module for all.

The optimizer's objective evaluates whole populations on numpy or torch (`backend`); the
simulator, the policies and the pages call the numpy forms per step. Those per-step forms take
the service time's coefficient of variation too (an M/G/c approximation, `response_survival`);
at CV 1 they are M/M/c exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from optimization.backend import Backend, NumpyBackend

NUMPY = NumpyBackend()

# The per-step numpy forms broadcast their arguments: arrays, or one number for every step.
Broadcastable = np.ndarray | float


def erlang_b(servers: Any, load: Any, backend: Backend = NUMPY) -> Any:
    """Erlang-B blocking probability by the stable recursion B_k = a B_{k-1} / (k + a B_{k-1}).

    Args:
        servers: c, integer-valued array (any shape).
        load: offered load a = lambda/mu in Erlangs, same shape.
        backend: array backend of the inputs.
    """
    xp = backend.xp
    blocking = xp.ones_like(load)
    c_max = int(servers.max()) if servers.shape and servers.shape[0] else int(servers)
    for k in range(1, c_max + 1):
        step = load * blocking / (k + load * blocking)
        blocking = xp.where(servers >= k, step, blocking)
    return blocking


def erlang_c(servers: Any, load: Any, backend: Backend = NUMPY) -> Any:
    """Probability of waiting in M/M/c, C = B / (1 - rho (1 - B)); 1 when rho >= 1."""
    xp = backend.xp
    blocking = erlang_b(servers, load, backend)
    rho = load / xp.where(servers > 0, servers, 1.0)
    waiting = blocking / (1 - rho * (1 - blocking))
    return xp.where(rho < 1, waiting, 1.0)


def wait_probability(servers: np.ndarray, load: np.ndarray) -> np.ndarray:
    """Erlang C per step on numpy arrays, within [0, 1] (rounding aside).

    Args:
        servers: c per step, shape (n,), integers >= 0.
        load: offered load a = lambda/mu per step, shape (n,).

    Returns:
        C per step, shape (n,); 1.0 where a >= c (an unstable queue always waits).
    """
    c = np.asarray(servers, dtype=np.int64)
    a = np.asarray(load, dtype=float)
    if c.size == 0:
        return np.ones_like(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        wait: np.ndarray = np.clip(erlang_c(c, a), 0.0, 1.0)
        return wait


def response_tail(
    wait_prob: Any, rate: Any, theta: Any, t_s: float, backend: Backend = NUMPY
) -> Any:
    """P(R > t) in M/M/c FCFS: e^{-mu t} [1 + C mu/(theta - mu) (1 - e^{-(theta - mu) t})].

    The objective's form, on any backend. The theta -> mu limit, e^{-mu t} (1 + C mu t), is
    used where the two are within 1e-9.
    """
    xp = backend.xp
    diff = theta - rate
    close = xp.abs(diff) < 1e-9 * xp.abs(rate) + 1e-12
    safe = xp.where(close, 1.0, diff)
    general = 1 + wait_prob * rate / safe * (1 - xp.exp(-safe * t_s))
    limit = 1 + wait_prob * rate * t_s
    return backend.clip(xp.exp(-rate * t_s) * xp.where(close, limit, general), 0.0, 1.0)


def _exp_tail(
    x_s: Broadcastable, nu: Broadcastable, theta: Broadcastable, wait_prob: Broadcastable
) -> np.ndarray:
    """P(X + B E > x) for X ~ Exp(nu), E ~ Exp(theta), B ~ Bernoulli(wait_prob), x >= 0.

    e^{-nu x} + C nu/(theta - nu) (e^{-nu x} - e^{-theta x}); where theta equals nu, the limit
    e^{-nu x}(1 + C nu x). With nu = mu and theta = c mu - lambda it is the M/M/c response tail.
    """
    diff = theta - nu
    e_nu = np.exp(-nu * x_s)
    near = np.abs(diff) < 1e-9 * np.maximum(nu, 1.0)
    safe = np.where(near, 1.0, diff)
    general = e_nu + wait_prob * nu / safe * (e_nu - np.exp(-theta * x_s))
    limit = e_nu * (1 + wait_prob * nu * x_s)
    tail: np.ndarray = np.where(near, limit, general)
    return tail


def service_phases(
    mu: Broadcastable, service_cv: Broadcastable
) -> tuple[np.ndarray, tuple[tuple[np.ndarray, np.ndarray], ...]]:
    """The service-time law the model gives a mean 1/mu and a coefficient of variation.

    CV <= 1: a shifted exponential, (1 - cv)/mu fixed plus an exponential of mean cv/mu (a fixed
    forward pass and its jitter; deterministic at 0, exponential at 1). CV > 1: a two-phase
    hyperexponential with balanced means (Whitt 1982, "Approximating a point process by a
    renewal process"). Both match the mean and the CV exactly.

    Returns:
        (shift_s, ((weight, rate), (weight, rate))): the fixed part and the exponential phases,
        each broadcast from `mu` and `service_cv`.
    """
    mu_a = np.asarray(mu, dtype=float)
    cv = np.asarray(service_cv, dtype=float)
    low = cv <= 1
    shift = np.where(low, (1 - np.minimum(cv, 1.0)) / mu_a, 0.0)
    nu = mu_a / np.maximum(cv, 1e-9)  # cv 0: an exponential part too fast to matter
    scv = np.maximum(cv * cv, 1.0)
    p = (1 + np.sqrt((scv - 1) / (scv + 1))) / 2
    first = (np.where(low, 1.0, p), np.where(low, nu, 2 * p * mu_a))
    second = (np.where(low, 0.0, 1 - p), np.where(low, nu, 2 * (1 - p) * mu_a))
    return shift, (first, second)


def service_survival(
    t_s: Broadcastable, mu: Broadcastable, service_cv: Broadcastable
) -> np.ndarray:
    """P(S > t) of one request's own service, in the law of `service_phases`."""
    return response_survival(t_s, 1, mu, 0.0, 0.0, service_cv)


def response_survival(
    t_s: Broadcastable,
    servers: Broadcastable,
    mu: Broadcastable,
    lam: Broadcastable,
    wait_prob: Broadcastable,
    service_cv: Broadcastable = 1.0,
) -> np.ndarray:
    """P(R > t) for FCFS M/G/c, R = wait + service; M/M/c exactly where `service_cv` is 1.

    M/M/c: e^{-mu t} + C mu/(theta-mu) (e^{-mu t} - e^{-theta t}), theta = c mu - lambda.
    Other CVs (Allen-Cunneen, as in Whitt 1993, "Approximations for the GI/G/m queue"): a
    request waits with probability C (Erlang C); its wait is exponential with the M/M/c mean
    scaled by (1 + cv^2)/2, i.e. rate theta 2/(1 + cv^2), which is the Pollaczek-Khinchine mean
    at c = 1; its service follows `service_phases`, independent of the wait.

    All arguments broadcast; `wait_prob` is Erlang C. theta must be > 0.
    """
    cv = np.asarray(service_cv, dtype=float)
    theta = (servers * mu - lam) * (2 / (1 + cv * cv))
    shift, phases = service_phases(mu, cv)
    x = np.asarray(t_s - shift, dtype=float)
    after = np.maximum(x, 0.0)
    tail = sum(
        (weight * _exp_tail(after, rate, theta, wait_prob) for weight, rate in phases),
        start=np.zeros(()),
    )
    survival: np.ndarray = np.clip(np.where(x < 0, 1.0, tail), 0.0, 1.0)
    return survival


def response_quantile(
    q: float,
    servers: Broadcastable,
    mu: Broadcastable,
    lam: Broadcastable,
    wait_prob: Broadcastable,
    iterations: int = 60,
    service_cv: Broadcastable = 1.0,
) -> np.ndarray:
    """The q-quantile of the response time in seconds, per step, by bisection."""
    shape = np.broadcast(servers, mu, lam, wait_prob, service_cv).shape
    lo = np.zeros(shape)
    hi = np.full(shape, 1.0)
    for _ in range(40):  # widen until P(R > hi) <= 1 - q
        grow = response_survival(hi, servers, mu, lam, wait_prob, service_cv) > 1 - q
        if not grow.any():
            break
        hi = np.where(grow, hi * 2, hi)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        over = response_survival(mid, servers, mu, lam, wait_prob, service_cv) > 1 - q
        lo, hi = np.where(over, mid, lo), np.where(over, hi, mid)
    return hi


def mixture_quantile(
    q: float, survival: Callable[[float], np.ndarray], weights: np.ndarray, hi_s: float
) -> float:
    """The q-quantile of a mixture: `survival(t)` gives each part's P(R > t), shape (n,).

    `weights` are the parts' request counts; the answer is in seconds, at most `hi_s`.
    """
    total = float(weights.sum())
    if total <= 0:
        return 0.0
    lo, hi = 0.0, hi_s
    for _ in range(50):
        mid = (lo + hi) / 2
        if float(weights @ survival(mid)) / total > 1 - q:
            lo = mid
        else:
            hi = mid
    return hi
