"""M/M/c latency per step (docs/cost-model.md section 8), vectorised over steps."""

from __future__ import annotations

import numpy as np


def erlang_c(servers: np.ndarray, load: np.ndarray) -> np.ndarray:
    """Probability that an arrival waits, by the stable Erlang B recursion.

    Args:
        servers: c per step, shape (n,), integers >= 1.
        load: offered load a = lambda/mu per step, shape (n,), with a < c.

    Returns:
        C per step, shape (n,); 1.0 where a >= c (an unstable queue always waits).
    """
    c = np.asarray(servers, dtype=np.int64)
    a = np.asarray(load, dtype=float)
    b = np.ones_like(a)
    for k in range(1, int(c.max(initial=1)) + 1):
        nxt = a * b / (k + a * b)
        b = np.where(k <= c, nxt, b)
    rho = a / np.maximum(c, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = b / (1 - rho * (1 - b))
    return np.where(rho < 1, np.clip(out, 0.0, 1.0), 1.0)


def response_survival(
    t_s: np.ndarray | float, servers: np.ndarray, mu: np.ndarray, lam: np.ndarray, wait_prob
) -> np.ndarray:
    """P(R > t) for FCFS M/M/c: e^{-mu t} + C mu/(theta-mu) (e^{-mu t} - e^{-theta t}).

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
    return np.clip(np.where(near, limit, general), 0.0, 1.0)


def response_quantile(q: float, servers, mu, lam, wait_prob, iterations: int = 60) -> np.ndarray:
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


def mixture_quantile(q: float, survival, weights: np.ndarray, hi_s: float) -> float:
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
