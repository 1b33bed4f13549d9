"""Ballast's own policy: spot replicas sized by expected cost against a serverless spill.

Per step it predicts the load over the boot lead time as the recent level (the mean of the last
few steps), flat or times the forecast's seasonal shape (forecasting/, refitted hourly): the
forecast ahead over the forecast for the steps the level averages. Over a lead of a minute or
two the shape is mostly the forecast's own noise (on the per-minute NASA trace, shaped levels
alone cost ballast 3 % more than flat ones alone), but over longer leads and coarser steps the
day's ramp can matter, so both kinds are candidates. The prediction's uncertainty is the
empirical distribution of its own recent errors (a margin learned online, conformal-style):
the point moved by each error of the last three hours gives a sample of plausible loads.

Replicas are then the count that minimises the expected bill of the step (the newsvendor
problem with whole replicas): n replicas cost n replica-steps, and what the router sends to
functions costs one replica-step per break-even rate (`serverless.break_even_rps`, about 18 rps
for a c6i.xlarge spot replica). The router (`policies.routing`) sets each step's share before
the step's load is known, so that the ready replicas get no more than they carry within the SLA
(exact M/M/c, `sizing.SlaTable`) even if the load rises as far as it plausibly does in a step
(a factor h, the recent rises' 99th percentile): of a load L it sends about L - c_n / h to
functions, as if n replicas carried c_n / h. Ballast sizes against exactly that, so a noisy
load buys replicas for its noise where functions would cost more. A replica is kept while its
expected carried load beats the break-even rate, which also leaves a nearly idle last replica
to functions.

How the errors are modelled matters as much as how big they are: smooth load has noise that
scales with it (ratios), sparse load noise that does not (differences), and request counts
noise that grows with the square root of the level (Poisson; the Anscombe-style scaled gap).
The level's span trades lag against noise in the same way. Ballast keeps one candidate per
(span, shaped or flat, error model), each scored by the bill its own decisions would have run
up on the steps that followed (replicas plus spill: the loss of this very decision, so a proper
score), and follows the candidate with the lowest recent bill (follow-the-leader over experts).
Until candidates have enough scored steps it sizes the point plus 30 %.

Replicas run on spot pools whose interruption hazard is at most the 15-20 % band (the 2-minute
notice outlasts a CPU boot, so a replacement is ready in time), spread as `policies.insurance`
says: the count is sized in replicas of the cheapest such pool and that capacity is split over
the cheap pools of its size class, none carrying more than half, so a reclaim wave or a pool
out of capacity takes at most half the VMs' capacity, which the router moves to functions at
the next step while the replacements boot elsewhere. A pool whose launch failed (fewer replicas
than asked, with the last decision asking for more than it had) is left out for 3 minutes.
Where functions could not take the largest pool's load (the account's concurrency), a
non-spot floor on the cheapest on-demand pool carries the rest (`insurance.floor_replicas`).
The functions get the cheapest memory that keeps a request under half the latency target (as
Paragon sizes them). Batch on spot with checkpoints.

Reserved floor: Ballast's design promises online inference a reserved/on-demand base. Here the
base is bought only where it pays: after a day, reserved replicas for the day's 5th-percentile
need are committed when a reserved replica-hour costs less than the pool's (reserved is paid
every hour of the term, and the floor's replicas are busy every hour). With the default catalog
reserved costs 1.65x spot (0.1125 vs 0.068 USD/h on c6i.xlarge), so no floor is bought: the
non-spot base under online traffic is the serverless share, which the router raises at the
next step to what the ready replicas cannot carry, a correlated reclaim wave included (Lambda's
default 1,000 concurrency carries ~33,000 rps of this model, 6.7x the scenario's peak). The
simulator's reclaims are independent and replaced inside the notice, so it cannot show what a
floor buys beyond that; `reserved_fraction` forces a floor of that fraction of the
5th-percentile need (0.25 was the earlier default) for operators who require reserved capacity
regardless.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from policies.base import (
    Context,
    Decision,
    Observation,
    cheapest_pool,
    decision_lead,
)
from policies.insurance import (
    SAFE_SPOT_HAZARD_PER_HOUR,
    UNAVAILABLE_S,
    floor_replicas,
    spill_capacity_rps,
    spread_for,
)
from policies.routing import LoadRise
from policies.serverless import break_even_rps, size_memory
from policies.sizing import SlaTable, expected_excess, replicas_for_sla, router_max_late

LEVEL_SPANS = (1, 3, 12)  # steps averaged for the recent level: reactive ... smooth
ERROR_MODELS = ("ratio", "gap", "sqrt")
MIN_ERRORS = 10  # scored steps before a candidate's errors replace the fixed 30 % margin
WARMUP_MARGIN = 1.3


@dataclass
class Candidate:
    """One predictor: a level span, shaped or flat, and an error model; its errors and bills."""

    span: int
    errors: str
    residuals: deque[float]
    bills: deque[float]  # replica-steps its decisions cost on the steps they were for
    pending: dict[int, tuple[float, int]] = field(default_factory=dict)  # step -> (point, n)
    shaped: bool = True  # the level times the forecast's seasonal shape, or flat

    def residual(self, actual: float, predicted: float) -> float:
        """The error of `predicted`, in this candidate's model."""
        if self.errors == "ratio":
            return math.log((actual + 1) / (predicted + 1))
        if self.errors == "sqrt":
            return (actual - predicted) / math.sqrt(predicted + 1)
        return actual - predicted

    def samples(self, point: float) -> np.ndarray:
        """Plausible loads for a step predicted at `point`: the point moved by each error."""
        r = np.fromiter(self.residuals, float, len(self.residuals))
        if self.errors == "ratio":
            loads = (point + 1) * np.exp(r) - 1
        elif self.errors == "sqrt":
            loads = point + r * math.sqrt(point + 1)
        else:
            loads = point + r
        plausible: np.ndarray = np.maximum(loads, 0.0)
        return plausible


class Ballast:
    """Expected-cost sizing on spot, over the best recent predictor, with serverless spill."""

    name = "ballast_controller"
    spills = True
    batch_option = "spot"
    serverless_memory_mb = 2048
    zero_boot = False

    def __init__(
        self,
        ctx: Context,
        max_late: float | None = None,
        reserved_fraction: float | None = None,
        error_window_s: float = 3 * 3600,
        max_pool_share: float | None = None,
    ):
        sc = ctx.scenario
        self.sc = sc
        self.variant = sc.default_variant
        self.pool = cheapest_pool(
            sc, self.variant, ("spot",), SAFE_SPOT_HAZARD_PER_HOUR, max_late=max_late
        )
        spec = sc.variant(self.variant)
        self.profile = spec.profile(self.pool[0])
        if max_late is None:  # what the simulator's spill router keeps this pool to
            max_late = router_max_late(sc, self.profile.service_ms)
        self.forecasts = ctx.forecasts
        itype = sc.instance(self.pool[0])
        self.price_per_hour = itype.price_per_hour_usd(self.pool[1])
        if reserved_fraction is None:  # reserved pays for an always-busy replica when cheaper
            reserved_fraction = 1.0 if itype.reserved_per_hour_usd < self.price_per_hour else 0.0
        self.reserved_fraction = reserved_fraction
        step_s = ctx.step_s
        self.lead = decision_lead(itype.boot_s, step_s)
        self.day_steps = 86400 // step_s
        window = max(30, int(error_window_s // step_s))
        self.candidates = [
            Candidate(span, errors, deque(maxlen=window), deque(maxlen=window), shaped=shaped)
            for shaped in (True, False)
            for span in LEVEL_SPANS
            for errors in ERROR_MODELS
        ]
        self.serverless_memory_mb = size_memory(spec, sc.serverless, sc.latency_target_ms)
        share = {} if max_pool_share is None else {"max_pool_share": max_pool_share}
        self.spread = spread_for(sc, self.variant, SAFE_SPOT_HAZARD_PER_HOUR, **share)
        self.spill_rps = spill_capacity_rps(sc, self.variant, self.serverless_memory_mb)
        self.unavailable: dict[tuple[str, str], int] = {}  # pool -> first step it is tried again
        self.unavailable_steps = max(1, math.ceil(UNAVAILABLE_S / step_s))
        self.asked: dict[tuple[str, str], int] = {}
        self.had: dict[tuple[str, str], int] = {}
        self.break_even_rps = break_even_rps(
            self.price_per_hour, spec, sc.serverless, self.serverless_memory_mb
        )
        self.committed = False
        max_replicas = int(sc.peak_rps * 2 / self.profile.capacity_rps) + 16
        self.table = SlaTable(self.profile, sc, max_late, max_replicas)
        self.carried = np.append(0.0, self.table.max_rate_rps)  # carried[n]: n replicas carry
        self.rise = LoadRise(step_s)  # what the router's share will allow for (routing.py)
        self.headroom = self.rise.headroom()

    def carried_upto(self, top: int) -> np.ndarray:
        """What 0..top replicas carry within the SLA (the spill router's limit), from the table."""
        if top >= len(self.carried):
            self.table.cover(top)
            self.carried = np.append(0.0, self.table.max_rate_rps)
        return self.carried[: top + 1]

    def bill(self, n: int, load_rps: float) -> float:
        """The step's bill in replica-steps: n replicas plus what the router sends to functions.

        The router sends a share 1 - c_n / (L' h) of a step's load L, where L' is the step
        before and h the plausible rise (`routing.LoadRise`): about L - c_n / h requests, as
        if n replicas carried c_n / h. `n` is a count `cheapest_replicas` chose, so the table
        already reaches it.
        """
        carried = float(self.carried[n]) / self.headroom
        return n + max(0.0, load_rps - carried) / self.break_even_rps

    def cheapest_replicas(self, loads: np.ndarray) -> int:
        """Replicas minimising n + E[(L - c_n / h)+] / break-even rate over the `loads` sampled.

        No count above the all-functions bill (E[L] / break-even rate, in replica-steps) can be
        cheapest, so the search stops there, whatever the plausible rise h.
        """
        top = math.ceil(float(loads.mean()) / self.break_even_rps) + 1
        spill = expected_excess(loads, self.carried_upto(top) / self.headroom)
        return int(np.argmin(np.arange(top + 1) + spill / self.break_even_rps))

    def replicas(self, need: float) -> int:
        """Cheapest replicas for a known `need`: SLA replicas, less a nearly idle last one."""
        return self.cheapest_replicas(np.array([need]))

    def predict(self, t: int, history: np.ndarray, span: int, shaped: bool = True) -> np.ndarray:
        """Point forecast of steps t..t+lead-1: level over `span` steps (x the seasonal shape).

        The shape divides the forecast ahead by the forecast for the very steps the level
        averages (both smoothed over 5 steps), so level and shape are centred alike.
        """
        span = min(span, len(history))
        level = float(history[-span:].mean())
        shape = np.ones(self.lead)
        if shaped and t >= span + 2:
            fc = self.forecasts.at(t - span - 2, span + self.lead + 4)
            if fc is not None:
                smooth = np.convolve(fc, np.ones(5) / 5, mode="valid")  # [i] ~ step t - span + i
                base = float(smooth[:span].mean())
                if base > 0:
                    shape = np.clip(smooth[span : span + self.lead] / base, 0.7, 1.5)
        return level * shape

    def score(self, t: int, actual: float) -> None:
        """Record each candidate's error and bill for step t, whose load is now known."""
        for c in self.candidates:
            if t in c.pending:
                predicted, n = c.pending.pop(t)
                c.residuals.append(c.residual(actual, predicted))
                c.bills.append(self.bill(n, actual))

    def leader(self) -> Candidate | None:
        """The candidate with the lowest mean recent bill, once all have enough scored steps."""
        if len(self.candidates[0].bills) < MIN_ERRORS:
            return None
        return min(self.candidates, key=lambda c: sum(c.bills) / len(c.bills))

    def decide(self, obs: Observation) -> Decision:
        """Every candidate sizes the lead time; the recent leader's count is the decision."""
        t, history = obs.t, obs.history_rps
        self.rise.observe(history)
        self.headroom = self.rise.headroom()
        if t > 0:
            self.score(t - 1, float(history[-1]))
        leader = self.leader()
        total = 0
        points: dict[tuple[int, bool], np.ndarray] = {}  # one prediction per (span, shaped)
        for c in self.candidates:
            key = (c.span, c.shaped)
            if key not in points:
                points[key] = self.predict(t, history, c.span, c.shaped)
            point = points[key]
            peak = float(point.max())
            if len(c.residuals) >= MIN_ERRORS:
                n = self.cheapest_replicas(c.samples(peak))
            else:
                n = self.replicas(peak * WARMUP_MARGIN)
            c.pending[t + self.lead - 1] = (float(point[-1]), n)
            if c is leader or (leader is None and c is self.candidates[0]):
                total = n
        reserve = self.commit_floor(t, history)
        reserved = obs.reserved.get(self.pool[0], 0) + reserve.get(self.pool[0], 0)
        level = float(points[(1, False)].max()) * self.headroom  # the load's plausible high
        desired = self.spread_out(obs, max(0, total - reserved), level)
        return Decision(desired, reserve)

    def spread_out(self, obs: Observation, n: int, load_rps: float) -> dict[tuple[str, str], int]:
        """`n` replicas' worth of the cheapest pool, spread over the pools and above the floor.

        A pool that holds fewer replicas than the last decision asked, when that decision
        asked for more than it had, could not launch them: it is left out for a while.
        """
        t = obs.t
        for pool, asked in self.asked.items():
            have = obs.replicas(pool)
            if asked > self.had.get(pool, 0) and have < asked:
                self.unavailable[pool] = t + self.unavailable_steps
        self.unavailable = {p: until for p, until in self.unavailable.items() if until > t}
        capacity = n * self.spread.capacity_rps[self.pool]
        fallback = self.spread.fallback
        floor = floor_replicas(self.spread, load_rps, self.spill_rps) if n else 0
        floor = min(floor, math.ceil(capacity / self.spread.capacity_rps[fallback] - 1e-9))
        rest = max(0.0, capacity - floor * self.spread.capacity_rps[fallback])
        desired = self.spread.split(rest, self.unavailable)
        desired[fallback] = desired.get(fallback, 0) + floor
        self.had = {pool: obs.replicas(pool) for pool in desired}
        self.asked = dict(desired)
        return desired

    def state(self) -> dict[str, Any]:
        """Each candidate's recent errors, bills and pending predictions, and the floor flag."""
        return {
            "committed": self.committed,
            "changes": self.rise.state(),
            "pools": [
                [
                    *pool,
                    self.asked.get(pool, 0),
                    self.had.get(pool, 0),
                    self.unavailable.get(pool, 0),
                ]
                for pool in sorted({*self.asked, *self.had, *self.unavailable})
            ],
            "candidates": [
                {
                    "residuals": list(c.residuals),
                    "bills": list(c.bills),
                    "pending": [[step, point, n] for step, (point, n) in c.pending.items()],
                }
                for c in self.candidates
            ],
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Take back what `state` returned (candidates in the order this policy builds them)."""
        saved = state["candidates"]
        if len(saved) != len(self.candidates):
            raise ValueError(
                f"state: {len(saved)} candidates saved, this ballast has {len(self.candidates)}"
            )
        self.committed = bool(state["committed"])
        rows = [
            ((str(name), str(option)), int(a), int(h), int(u))
            for name, option, a, h, u in state.get("pools", [])
        ]
        self.asked = {pool: a for pool, a, _, _ in rows if a}
        self.had = {pool: h for pool, _, h, _ in rows if h}
        self.unavailable = {pool: u for pool, _, _, u in rows if u}
        self.rise.restore(state.get("changes", {}))  # saved before the router: learn afresh
        for c, row in zip(self.candidates, saved, strict=True):
            c.residuals = deque(row["residuals"], c.residuals.maxlen)
            c.bills = deque(row["bills"], c.bills.maxlen)
            c.pending = {int(step): (float(point), int(n)) for step, point, n in row["pending"]}

    def commit_floor(self, t: int, history: np.ndarray) -> dict[str, int]:
        """After a day: reserved replicas for `reserved_fraction` of the 5th-percentile need."""
        if self.reserved_fraction <= 0 or self.committed or t < self.day_steps:
            return {}
        self.committed = True
        floor_rate = float(np.percentile(history[-self.day_steps :], 5)) * self.reserved_fraction
        n = int(replicas_for_sla(np.array([floor_rate]), self.profile, self.sc, 1.0)[0])
        return {self.pool[0]: n} if n else {}
