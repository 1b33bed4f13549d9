"""Problem-aware decoding for the GA-PSO: repair a population to feasibility, trim it, seed it.

Every function works on a whole population (n, T, K) of integer-valued float arrays on an
array backend, so the numpy and torch paths run the same steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from optimization.backend import Backend
from optimization.layout import Layout

BIG = 1e12
FILL_ROUNDS = 6
TRIM_ROUNDS = 4  # enough for repaired seeds; garbage input keeps trimming until nothing goes


@dataclass(frozen=True, eq=False)
class Repairer:
    """Repairs populations of one layout; `layout` lives on `backend`, `host` is the numpy one."""

    layout: Layout
    host: Layout
    backend: Backend

    @property
    def xp(self) -> Any:
        """Array module of the backend."""
        return self.backend.xp

    def rounds(self, planned: int) -> int:
        """Rounds a loop that stops early may run, at most `planned`.

        All of them where the backend reads whether work is left, else its fixed
        `rounds_without_reads`, so a generation reads nothing back from the device.
        """
        cap = self.backend.rounds_without_reads
        return planned if cap is None else min(planned, cap)

    def repair(self, counts: Any) -> Any:
        """Round, clip, fill to the hard constraints, trim surplus, respect the step limit."""
        lay = self.layout
        counts = self.backend.clip(self.xp.round(counts), 0.0, lay.option_upper)
        counts = self.enforce_offer_limits(counts)
        counts = self.fill_non_spot(counts)
        counts = self.fill_capacity(counts)
        counts = self.replace_serverless(counts)
        counts = self.trim(counts)
        counts = self.fill_min_replicas(counts)
        if math.isfinite(self.host.max_change_per_interval):
            counts = self.smooth_changes(counts)
        return counts

    def availability(self, counts: Any) -> Any:
        """Replicas each option may still add, (n, T, K): option, offer and fleet limits."""
        lay, xp = self.layout, self.xp
        avail = lay.option_upper - counts
        if self.host.offer_limit.shape[0]:
            remaining = lay.offer_limit - counts @ lay.offer_of_option.T  # (n, T, L)
            per_option = remaining @ lay.offer_of_option + BIG * (
                1 - lay.offer_of_option.sum(axis=0)
            )
            avail = xp.minimum(avail, per_option)
        room = lay.max_replicas - counts.sum(axis=2, keepdims=True)
        return self.backend.clip(xp.minimum(avail, room), 0.0)

    def availability_of(self, counts: Any, k: int) -> Any:
        """Replicas option k may still add, (n, T); the one-option case of availability()."""
        host = self.host
        avail = host.option_upper[k] - counts[:, :, k]
        rows: np.ndarray | list[int] = (
            np.flatnonzero(host.offer_of_option[:, k]) if host.offer_limit.shape[0] else []
        )
        for row in rows:
            members = np.flatnonzero(host.offer_of_option[row])
            used = counts[:, :, members].sum(axis=2)
            avail = self.xp.minimum(avail, host.offer_limit[row] - used)
        room = host.max_replicas - counts.sum(axis=2)
        return self.backend.clip(self.xp.minimum(avail, room), 0.0)

    def enforce_offer_limits(self, counts: Any) -> Any:
        """Remove replicas above an offer's reserved commitment or max_count."""
        host = self.host
        for row, limit in zip(host.offer_of_option, host.offer_limit, strict=True):
            members = np.flatnonzero(row)
            over = self.backend.clip(counts[:, :, members].sum(axis=2) - limit, 0.0)
            for k in members:
                take = self.xp.minimum(counts[:, :, k], over)
                counts[:, :, k] = counts[:, :, k] - take
                over = over - take
        return counts

    def fill_non_spot(self, counts: Any) -> Any:
        """Add the cheapest non-spot capacity until the non-spot floor holds."""
        host, lay = self.host, self.layout
        if host.min_non_spot_replicas <= 0:
            return counts
        ratio = host.price_per_hour_usd / host.usable_capacity_rps
        order = np.argsort(np.where(host.is_spot, np.inf, ratio), kind="stable")
        for k in order[: self.rounds(len(order))]:
            if host.is_spot[k]:
                break
            deficit = self.backend.clip(lay.min_non_spot_replicas - counts @ (1 - lay.is_spot), 0)
            if not self.backend.may_any(deficit > 0):
                break
            add = self.xp.minimum(deficit, self.availability_of(counts, k))
            counts[:, :, k] = counts[:, :, k] + add
        return counts

    def fill_capacity(self, counts: Any) -> Any:
        """Cover the demand, interval by interval, at least cost.

        Each round adds the option that covers the deficit alone at least cost or, if none can,
        as much as available of the best price per rps.
        """
        lay, xp = self.layout, self.xp
        need = lay.need_rps - lay.serverless_capacity_rps
        for _ in range(FILL_ROUNDS):
            deficit = need - counts @ lay.usable_capacity_rps  # (n, T)
            if not self.backend.may_any(deficit > 1e-9):
                break
            avail = self.availability(counts)
            units = xp.minimum(
                avail, xp.ceil(backend_pos(deficit)[..., None] / lay.usable_capacity_rps)
            )
            covers = units * lay.usable_capacity_rps >= deficit[..., None] - 1e-9
            score = xp.where(
                covers,
                units * lay.price_per_hour_usd,
                BIG + lay.price_per_hour_usd / lay.usable_capacity_rps,
            )
            score = xp.where(avail > 0, score, 2 * BIG * (1 + 0 * score))
            best = xp.argmin(score, axis=2)[..., None]
            add = self.backend.take_along(units, best, 2) * (deficit[..., None] > 1e-9)
            counts = self.backend.put_along(counts, best, add, 2)
        return counts

    def replace_serverless(self, counts: Any) -> Any:
        """Buy replicas instead of serverless capacity where that is cheaper.

        Per interval, the option (and number of units, 1 or enough to cover) that saves most.
        """
        lay, xp = self.layout, self.xp
        sl_price = self.host.serverless_price_per_rps_hour_usd
        if self.host.serverless_capacity_rps <= 0:
            return counts
        for _ in range(2):
            spill = backend_pos(lay.need_rps - counts @ lay.usable_capacity_rps)[..., None]
            avail = self.availability(counts)
            full = xp.minimum(avail, xp.ceil(spill / lay.usable_capacity_rps))
            one = xp.minimum(avail, 1.0 + 0 * full)
            gain_full = sl_price * xp.minimum(spill, full * lay.usable_capacity_rps)
            gain_one = sl_price * xp.minimum(spill, one * lay.usable_capacity_rps)
            save_full = gain_full - full * lay.price_per_hour_usd
            save_one = gain_one - one * lay.price_per_hour_usd
            units = xp.where(save_full >= save_one, full, one)
            saving = xp.maximum(save_full, save_one)
            best = xp.argmax(saving, axis=2)[..., None]
            add = self.backend.take_along(units, best, 2)
            add = xp.where(self.backend.take_along(saving, best, 2) > 1e-12, add, 0.0)
            if not self.backend.may_any(add > 0):
                break
            counts = self.backend.put_along(counts, best, add, 2)
        return counts

    def trim(self, counts: Any) -> Any:
        """Remove the surplus replicas.

        Each round drops, per interval, the units whose removal saves most while coverage, the
        non-spot floor and min_replicas still hold.
        """
        lay, xp = self.layout, self.xp
        sl_price = self.host.serverless_price_per_rps_hour_usd
        for _ in range(self.rounds(TRIM_ROUNDS + self.host.n_options)):
            usable = counts @ lay.usable_capacity_rps  # (n, T)
            slack = usable + lay.serverless_capacity_rps - lay.need_rps
            removable = xp.floor(backend_pos(slack + 1e-9)[..., None] / lay.usable_capacity_rps)
            removable = xp.minimum(removable, counts)
            spare_ns = counts @ (1 - lay.is_spot) - lay.min_non_spot_replicas
            removable = xp.where(
                lay.is_spot > 0, removable, xp.minimum(removable, spare_ns[..., None])
            )
            spare = counts.sum(axis=2) - lay.min_replicas
            removable = backend_pos(xp.minimum(removable, spare[..., None]))
            saving = removable * lay.price_per_hour_usd
            if sl_price > 0:
                before = backend_pos(lay.need_rps - usable)[..., None]
                after = backend_pos(
                    lay.need_rps[..., None]
                    - usable[..., None]
                    + removable * lay.usable_capacity_rps
                )
                saving = saving - sl_price * (after - before)
            saving = xp.where(removable > 0, saving, -1.0)
            best = xp.argmax(saving, axis=2)[..., None]
            take = self.backend.take_along(removable, best, 2)
            take = xp.where(self.backend.take_along(saving, best, 2) > 1e-12, take, 0.0)
            if not self.backend.may_any(take > 0):
                break
            counts = self.backend.put_along(counts, best, -take, 2)
        return counts

    def fill_min_replicas(self, counts: Any) -> Any:
        """Add the cheapest replicas until min_replicas holds."""
        if self.host.min_replicas <= 0:
            return counts
        deficit = self.backend.clip(self.layout.min_replicas - counts.sum(axis=2), 0.0)
        return self.add_cheapest(counts, deficit, slice(None))

    def add_cheapest(self, counts: Any, extra: Any, t: Any) -> Any:
        """Add `extra` replicas (n, ...) at interval(s) `t`, cheapest-per-replica options first."""
        order = np.argsort(self.host.price_per_hour_usd, kind="stable")
        for k in order[: self.rounds(len(order))]:
            if not self.backend.may_any(extra > 0):
                break
            add = self.xp.minimum(extra, self.availability_of(counts, k)[:, t])
            counts[:, t, k] = counts[:, t, k] + add
            extra = extra - add
        return counts

    def smooth_changes(self, counts: Any) -> Any:
        """Limit the fleet's change between intervals to max_change_per_interval.

        A backward pass pre-scales before rises, a forward pass slows drops; both only add.
        """
        delta, start = self.host.max_change_per_interval, self.host.initial_replicas
        T = self.host.n_intervals
        for t in range(T - 1, 0, -1):
            gap = counts[:, t].sum(axis=1) - delta - counts[:, t - 1].sum(axis=1)
            counts = self.add_cheapest(counts, self.backend.clip(gap, 0.0), t - 1)
        for t in range(T):
            before = counts[:, t - 1].sum(axis=1) if t else start
            if t == 0 and not math.isfinite(start):
                continue
            gap = before - delta - counts[:, t].sum(axis=1)
            counts = self.add_cheapest(counts, self.backend.clip(gap, 0.0), t)
        return counts


def backend_pos(values: Any) -> Any:
    """max(values, 0) for numpy arrays and torch tensors alike."""
    return values * (values > 0)


def seed_population(
    relaxed: np.ndarray, n: int, rng: np.random.Generator, *, noise: float = 0.15
) -> np.ndarray:
    """N starting allocations (n, T, K) from the LP relaxation `relaxed` (T, K).

    Row 0 rounds up, row 1 rounds to nearest, row 2 rounds down; the rest round at random with
    P(up) = fractional part, and some also get +-1 noise on a `noise` share of genes.
    """
    base = np.floor(relaxed)
    frac = relaxed - base
    draws = rng.random((n,) + relaxed.shape)
    population = base + (draws < frac)
    fixed = [np.ceil(relaxed - 1e-9), np.round(relaxed), base]
    population[: min(n, 3)] = fixed[: min(n, 3)]
    jitter = rng.integers(-1, 2, size=population.shape) * (rng.random(population.shape) < noise)
    population[n // 2 :] += jitter[n // 2 :]
    seeded: np.ndarray = np.maximum(population, 0.0)
    return seeded
