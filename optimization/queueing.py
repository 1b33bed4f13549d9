"""The M/M/c (Erlang C) latency model (docs/cost-model.md section 8): one module for all.

The optimizer's objective evaluates whole populations on numpy or torch (`backend`); the
simulator, the policies and the pages call the numpy forms per step.
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


def response_survival(
    t_s: Broadcastable,
    servers: Broadcastable,
    mu: Broadcastable,
    lam: Broadcastable,
    wait_prob: Broadcastable,
) -> np.ndarray:
    """P(R > t) for FCFS M/M/c: e^{-mu t} + C mu/(theta-mu) (e^{-mu t} - e^{-theta t}).

    `response_tail`'s value in the form the per-step numpy callers use.

    All arguments broadcast; `wait_prob` is Erlang C. theta = c mu - lambda must be > 0; where
    theta equals mu the limit e^{-mu t}(1 + C mu t) is used.
    """
    theta = servers * mu - lam
    diff = theta - mu
    e_mu = np.exp(-mu * t_s)
    near = np.abs(diff) < 1e-9 * np.maximum(mu, 1.0)
    safe = np.where(near, 1.0, diff)
    general = e_mu + wait_prob * mu / safe * (e_mu - np.exp(-theta * t_s))
    limit = e_mu * (1 + wait_prob * mu * t_s)
    survival: np.ndarray = np.clip(np.where(near, limit, general), 0.0, 1.0)
    return survival


def response_quantile(
    q: float,
    servers: Broadcastable,
    mu: Broadcastable,
    lam: Broadcastable,
    wait_prob: Broadcastable,
    iterations: int = 60,
) -> np.ndarray:
    """The q-quantile of the response time in seconds, per step, by bisection."""
    shape = np.broadcast(servers, mu, lam, wait_prob).shape
    lo = np.zeros(shape)
    hi = np.full(shape, 1.0)
    for _ in range(40):  # widen until P(R > hi) <= 1 - q
        grow = response_survival(hi, servers, mu, lam, wait_prob) > 1 - q
        if not grow.any():
            break
        hi = np.where(grow, hi * 2, hi)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        over = response_survival(mid, servers, mu, lam, wait_prob) > 1 - q
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
