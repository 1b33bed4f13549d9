"""The serverless share: the fraction of a step's requests the load balancer sends to functions.

Ballast routes an online workload through one ALB listener (or listener rule) that forwards to
two weighted target groups, the VM replicas and a Lambda function (elbv2 `ForwardConfig`;
`actuators.aws.alb.AlbWeightedRoute`). The weights are set at the start of a step, before its load
is known, so what the functions take is a share of every request, not the VMs' overflow: a step
whose load beats the guess overloads the VMs, and a step whose load falls short pays functions
for requests the VMs could have served. The simulator replays exactly that (`simulation.replay`)
and the live controller sets exactly that, both through this module.

The share is sized so that the VMs get at most what their ready replicas carry within the SLA
(`sizing.SlaTable` at the router's late share, `sizing.router_max_late`) when the step's load
is as high as recent history says it plausibly gets: the recent level (the mean of the last
1, 3, 6 or 12 steps, whichever gives the tightest bound) moved by the 99th percentile of how far
a step has recently risen over the level before it (`LoadRise`; log ratios of the load plus
one, over three hours; until 30 are seen, the larger of +30 % and the largest seen). A
clairvoyant reference passes the step's true load instead, which makes its share the perfect
overflow: a bound, not a deployable router.

Ready replicas are those the step's caller observed serving (the cloud's in-service count per
instance type: the simulator's cluster, the live controller's read-back of its targets), so a
reclaimed pool or a launch that found no capacity moves its load to functions at the next
step. Where nothing was observed they are inferred from the decisions: those asked for in every
decision since a boot before the step (a replica launched at step s serves from
s + ceil(boot / step)), plus committed reserved ones; the first step counts every replica
ready, as a replay starts warm. A reclaim inside a step still overloads the VMs until the next
step's share, as it would in the world. Weights are whole percent (ALB takes integer weights);
the share is rounded up (`actuators.targets.quantize_share`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from actuators.targets import quantize_share
from policies.base import Pool
from policies.scenario import Scenario
from policies.sizing import SlaTable, router_max_late, sla_reachable

QUANTILE = 0.99
WINDOW_S = 3 * 3600
MIN_CHANGES = 30
WARMUP_RISE = math.log(1.3)
LEVEL_SPANS = (1, 3, 6, 12)  # a rise is measured over the mean of this many steps before


def rise_factor(changes: Sequence[float] | np.ndarray, min_changes: int = MIN_CHANGES) -> float:
    """The plausible rise as a factor (>= 1) on the load plus one, from log changes.

    The changes' 99th percentile. While fewer than `min_changes` are known a percentile says
    little (a few draws' largest sits below the tail it stands for), so the rise is the larger
    of +30 % and the largest change seen: a new workload's first steps on noisy load otherwise
    overload its replicas.
    """
    if len(changes) < max(1, min_changes):
        return math.exp(max(WARMUP_RISE, max(changes, default=0.0)))
    return math.exp(max(0.0, quantile(changes, QUANTILE)))


def quantile(values: Sequence[float] | np.ndarray, q: float) -> float:
    """`np.quantile(values, q)` (linear, its default) bit for bit: finite values, q in [0, 1].

    Without numpy's per-call overhead, which dominates on the few hundred changes a step reads
    (every step of every replay reads eight).
    """
    ordered = np.sort(values) if isinstance(values, np.ndarray) else sorted(values)
    last = len(ordered) - 1
    virtual = last * q
    if virtual >= last:
        return float(ordered[-1])
    below = math.floor(virtual)
    low, high = ordered[below], ordered[below + 1]
    weight = virtual - below
    step = high - low
    return float(high - step * (1 - weight) if weight >= 0.5 else low + step * weight)


def log_changes(rps: np.ndarray, span: int) -> np.ndarray:
    """Each step's change over the level before it, from the second step on.

    log((load + 1) / (level + 1)), the level the mean of the `span` loads before the step
    (fewer at the start).
    """
    sums = np.append(0.0, np.cumsum(rps))
    end = np.arange(1, len(rps))
    start = np.maximum(end - span, 0)
    level = (sums[end] - sums[start]) / (end - start)
    changes: np.ndarray = np.log((rps[1:] + 1) / (level + 1))
    return changes


def trace_rise(rps: np.ndarray) -> float:
    """The plausible rise over a whole trace, as `LoadRise` measures it at its best span."""
    return min(rise_factor(log_changes(rps, span), min_changes=1) for span in LEVEL_SPANS)


class LoadRise:
    """How far a step's load plausibly rises over its recent level: the changes' 99th percentile.

    A change is the log ratio of a step's load plus one over the mean of the loads of the
    `span` steps before it (plus one), kept over the last three hours; until 30 are seen the
    rise is the larger of 30 % and the largest change seen. A level rather than the last step
    keeps one step's noise from counting twice; a long span lags a ramp. So one series of
    changes is kept per span in `LEVEL_SPANS` and the span whose recent 99th percentile is the
    lowest is used: each is that span's own empirical bound, and the tightest tells the most
    about the next step. Feed it every step's history, in order.
    """

    def __init__(self, step_s: int):
        window = max(MIN_CHANGES, WINDOW_S // step_s)
        self.changes: dict[int, deque[float]] = {span: deque(maxlen=window) for span in LEVEL_SPANS}
        self._best: tuple[int, float] | None = None  # until the next change is seen

    def observe(self, history_rps: np.ndarray) -> None:
        """Take the newest completed step's change (nothing before two steps are known)."""
        if len(history_rps) < 2:
            return
        self._best = None
        for span, changes in self.changes.items():
            changes.append(float(log_changes(history_rps[-1 - span :], span)[-1]))

    def best(self) -> tuple[int, float]:
        """(the span, its rise factor) of the tightest plausible rise."""
        if self._best is None:
            rises = {span: rise_factor(c) for span, c in self.changes.items()}
            span = min(rises, key=lambda s: (rises[s], s))
            self._best = span, rises[span]
        return self._best

    def headroom(self) -> float:
        """The plausible rise as a factor (>= 1) on the load plus one (`rise_factor`)."""
        return self.best()[1]

    def high(self, history_rps: np.ndarray) -> float:
        """The plausible high of the step after `history_rps`: its recent level, risen."""
        span, rise = self.best()
        level = float(history_rps[-span:].mean())
        return (level + 1) * rise - 1

    def state(self) -> dict[str, list[float]]:
        """Each span's recent changes, as JSON-ready plain data."""
        return {str(span): list(c) for span, c in self.changes.items()}

    def restore(self, state: dict[str, list[float]]) -> None:
        """Continue from `state` (what `state()` returned)."""
        for span, changes in self.changes.items():
            self.changes[span] = deque(state.get(str(span), []), changes.maxlen)
        self._best = None


class Router:
    """Sizes each step's serverless share for one policy's variant (see the module docstring)."""

    def __init__(self, scenario: Scenario, variant: str, step_s: int, zero_boot: bool = False):
        spec = scenario.variant(variant)
        self.step_s = step_s
        self.tables: dict[str, SlaTable] = {}
        for name in scenario.online_types:
            profile = spec.profile(name)
            late = router_max_late(scenario, profile.service_ms)
            if sla_reachable(profile, scenario, late):
                self.tables[name] = SlaTable(profile, scenario, late, 8)
        self.boot_steps = {
            t.name: 0 if zero_boot else math.ceil(t.boot_s / step_s)
            for t in scenario.instance_types
        }
        self.asked: deque[dict[Pool, int]] = deque(maxlen=max(self.boot_steps.values()) + 1)
        self.rise = LoadRise(step_s)

    def share(
        self,
        history_rps: np.ndarray,
        desired: dict[Pool, int],
        reserved: dict[str, int],
        known_rps: float | None = None,
        ready: Mapping[str, int] | None = None,
    ) -> float:
        """The share of step t's requests to send to functions (call once per step, in order).

        Args:
            history_rps: the load of the steps before t, newest last (at t = 0 step 0's own).
            desired: the decision's replicas per pool for step t.
            reserved: committed reserved replicas per instance type.
            known_rps: the step's true load, for a clairvoyant reference only.
            ready: replicas per instance type observed serving in step t, reserved ones
                included; None: inferred from the decisions (`ready`).
        """
        self.rise.observe(history_rps)
        self.asked.append({pool: int(n) for pool, n in desired.items()})
        serving = self.ready(reserved) if ready is None else ready
        carried = sum(self.carried(name, n) for name, n in serving.items() if n > 0)
        if carried <= 0:  # nothing ready: whatever comes (a wake from idle, too) goes to functions
            return 1.0
        load = known_rps if known_rps is not None else self.rise.high(history_rps)
        if load <= carried:
            return 0.0
        return quantize_share(1 - carried / load)

    def ready(self, reserved: dict[str, int]) -> dict[str, int]:
        """Replicas per type serving this step: asked for in every decision since a boot ago.

        A replica launched at step s serves from s + boot steps, and scaling in ends the newest
        replicas first, so the ready count is the least asked for over that window (a replay
        starts warm: the first decisions' replicas are ready at once). Reserved ones add.
        """
        out = dict(reserved)
        recent = list(self.asked)
        for pool in recent[-1]:
            span = self.boot_steps.get(pool[0], 0) + 1
            kept = min(d.get(pool, 0) for d in recent[-span:])
            out[pool[0]] = out.get(pool[0], 0) + kept
        return out

    def carried(self, instance_type: str, replicas: int) -> float:
        """The rate `replicas` of a type carry within the router's SLA share (0 if none can)."""
        table = self.tables.get(instance_type)
        if table is None:
            return 0.0
        table.cover(replicas)
        return float(table.max_rate_rps[replicas - 1])

    def state(self) -> dict[str, Any]:
        """The recent decisions and load changes, as JSON-ready plain data."""
        return {
            "asked": [[[*pool, n] for pool, n in sorted(d.items())] for d in self.asked],
            "changes": self.rise.state(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from `state` (what `state()` returned)."""
        self.asked = deque(
            ({(t, o): int(n) for t, o, n in d} for d in state.get("asked", [])),
            self.asked.maxlen,
        )
        self.rise.restore(state.get("changes", {}))
