"""Kubernetes HPA v2 on CPU, as its controller computes it (docs/cost-model.md section 7).

Two pure functions follow kubernetes/kubernetes pkg/controller/podautoscaler line by line:
`recommend` is replica_calculator.go's GetResourceReplicas (utilization truncated to whole
percents, the tolerance, unready pods at 0 % on a scale-up and ignored on a scale-down, pods
without metrics at 0 % up and 100 % down, no flip of direction), and `normalize` is
horizontal.go's reconcileAutoscaler after the metrics: min/max replicas, then without
`spec.behavior` the highest recommendation of the last 300 s (normalizeDesiredReplicas) and a
scale-up of at most max(2 x current, 4) per sync (convertDesiredReplicasWithRules); with a
`Behavior`, per-direction stabilization windows and Pods/Percent policies over their periods
(normalizeDesiredReplicasWithBehaviors). tests/policies/test_hpa_kubernetes.py pins both to the
Go tests' cases.

The policy syncs every 15 s (the controller's default period): a 60 s step is four syncs that
see the same per-pod usage (the metric changes once per step here), with the pods the earlier
syncs added counted as not ready, as a real controller would find them. The target is 80 % CPU,
the `kubectl autoscale` default.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from policies.base import Context, Decision, Observation, PlainState, primary_pool
from policies.sizing import replicas_for_rate

SYNC_S = 15.0  # --horizontal-pod-autoscaler-sync-period
DOWNSCALE_STABILIZATION_S = 300.0  # --horizontal-pod-autoscaler-downscale-stabilization
MAX_REPLICAS = 100_000  # spec.maxReplicas is required; this one never binds

Event = tuple[float, int]  # (time_s, replicas): a recommendation, or a scale event's change


@dataclass(frozen=True)
class ScalingPolicy:
    """One HPAScalingPolicy: change at most `value` pods or percent per `period_s`."""

    kind: Literal["Pods", "Percent"]
    value: int
    period_s: float


@dataclass(frozen=True)
class ScalingRules:
    """HPAScalingRules for one direction."""

    stabilization_window_s: float
    policies: tuple[ScalingPolicy, ...]
    select_policy: Literal["Max", "Min", "Disabled"] = "Max"


DEFAULT_SCALE_UP = ScalingRules(
    0.0, (ScalingPolicy("Pods", 4, 15), ScalingPolicy("Percent", 100, 15))
)
DEFAULT_SCALE_DOWN = ScalingRules(300.0, (ScalingPolicy("Percent", 100, 15),))


@dataclass(frozen=True)
class Behavior:
    """spec.behavior, each direction defaulted as the API server defaults it."""

    scale_up: ScalingRules = DEFAULT_SCALE_UP
    scale_down: ScalingRules = DEFAULT_SCALE_DOWN


@dataclass(frozen=True)
class History:
    """What the controller remembers of one HPA: its recommendations and scale events."""

    recommendations: tuple[Event, ...] = ()
    scale_up_events: tuple[Event, ...] = ()
    scale_down_events: tuple[Event, ...] = ()


def utilization_percent(usage: float, pods: int) -> int:
    """Usage over requests in whole percents, truncated (GetResourceUtilizationRatio)."""
    return math.floor(100 * usage / pods + 1e-9)  # the epsilon undoes float error, not a rule


def recommend(
    ready: int,
    unready: int,
    missing: int,
    usage: float,
    target: float,
    tolerance: float,
    current: int,
) -> int:
    """Replicas for a CPU target, as GetResourceReplicas computes them.

    Args:
        ready: ready pods that report a metric.
        unready: pods not ready yet (Pending or starting); their metrics are dropped.
        missing: ready pods without a metric.
        usage: the ready pods' summed usage over one pod's request (2.5 = two and a half pods).
        target: the utilization target as a fraction (0.8 for 80 %).
        tolerance: no change while |ratio - 1| is within it (0.1).
        current: the scale's spec.replicas.
    """
    if ready == 0:
        return current  # no metrics: the controller errs and leaves the scale alone
    target_percent = round(target * 100)
    ratio = utilization_percent(usage, ready) / target_percent
    rebalance_unready = unready > 0 and ratio > 1.0
    if not rebalance_unready and missing == 0:
        if abs(1.0 - ratio) <= tolerance:
            return current
        return math.ceil(ratio * ready)
    pods, total = ready, usage
    if missing and ratio < 1.0:
        pods, total = pods + missing, total + missing  # missing pods at 100 % on a scale-down
    elif missing and ratio > 1.0:
        pods += missing  # and at 0 % on a scale-up
    if rebalance_unready:
        pods += unready  # unready pods at 0 % on a scale-up
    new_ratio = utilization_percent(total, pods) / target_percent
    flips = (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio)
    if abs(1.0 - new_ratio) <= tolerance or flips:
        return current
    replicas = math.ceil(new_ratio * pods)
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current
    return replicas


def normalize(
    current: int,
    recommendation: int,
    history: History,
    min_replicas: int,
    max_replicas: int,
    behavior: Behavior | None,
    *,
    now_s: float,
    downscale_window_s: float = DOWNSCALE_STABILIZATION_S,
) -> tuple[int, History]:
    """The replicas one sync sets, and the history after it (reconcileAutoscaler).

    `now_s` is the sync's time on the clock of `history`; `downscale_window_s` is the
    controller's flag, used only without `behavior`.
    """
    if current == 0 and min_replicas != 0:
        return 0, history  # scaling is disabled for a target at zero
    if current > max_replicas:
        desired = max_replicas
    elif current < min_replicas:
        desired = min_replicas
    elif behavior is None:
        stabilized, history = stabilize(recommendation, history, downscale_window_s, now_s)
        up_limit = max(2 * current, 4)  # calculateScaleUpLimit
        desired = max(min_replicas, min(stabilized, max_replicas, up_limit))
    else:
        stabilized, history = stabilize_with_behavior(
            current, recommendation, history, behavior, now_s
        )
        desired = limit_rate(
            current, stabilized, history, min_replicas, max_replicas, behavior, now_s
        )
    if behavior is not None and desired != current:
        history = store_scale_event(history, behavior, current, desired, now_s)
    return desired, history


def stabilize(
    recommendation: int, history: History, window_s: float, now_s: float
) -> tuple[int, History]:
    """The highest recommendation of the window, its edge included (stabilizeRecommendation)."""
    kept = tuple((t, r) for t, r in history.recommendations if now_s - t <= window_s)
    stabilized = max([recommendation, *(r for _, r in kept)])
    return stabilized, replace(history, recommendations=(*kept, (now_s, recommendation)))


def stabilize_with_behavior(
    current: int, recommendation: int, history: History, behavior: Behavior, now_s: float
) -> tuple[int, History]:
    """Current, raised to the lowest recent recommendation and capped by the highest.

    Each bound looks over its own direction's window, edges excluded
    (stabilizeRecommendationWithBehaviors).
    """
    up_s = behavior.scale_up.stabilization_window_s
    down_s = behavior.scale_down.stabilization_window_s
    recs = history.recommendations
    up = min([recommendation, *(r for t, r in recs if now_s - t < up_s)])
    down = max([recommendation, *(r for t, r in recs if now_s - t < down_s)])
    kept = tuple((t, r) for t, r in recs if now_s - t < max(up_s, down_s))
    stabilized = min(max(current, up), down)
    return stabilized, replace(history, recommendations=(*kept, (now_s, recommendation)))


def limit_rate(
    current: int,
    desired: int,
    history: History,
    min_replicas: int,
    max_replicas: int,
    behavior: Behavior,
    now_s: float,
) -> int:
    """Desired, held to the policies' rate and min/max (convertDesiredReplicasWithBehaviorRate)."""
    if desired > current:
        up = behavior.scale_up
        limit = max(scale_limit(current, history.scale_up_events, up, now_s, up=True), current)
        return min(desired, max_replicas, limit)
    if desired < current:
        down = behavior.scale_down
        limit = min(scale_limit(current, history.scale_down_events, down, now_s, up=False), current)
        return max(desired, min_replicas, limit)
    return desired


def scale_limit(
    current: int, events: tuple[Event, ...], rules: ScalingRules, now_s: float, *, up: bool
) -> int:
    """The furthest count the policies allow from where each period started.

    calculateScaleUpLimitWithScalingRules and calculateScaleDownLimitWithBehaviors: "Max"
    selects the policy allowing the largest change, "Min" the smallest.
    """
    if rules.select_policy == "Disabled":
        return current
    largest_change = rules.select_policy == "Max"
    pick = max if largest_change == up else min
    result = -(2**31) if pick is max else 2**31 - 1  # Go's MinInt32 / MaxInt32 seeds
    for policy in rules.policies:
        changed = sum(change for t, change in events if now_s - t < policy.period_s)
        start = current - changed if up else current + changed
        if policy.kind == "Pods":
            proposed = start + policy.value if up else start - policy.value
        elif up:
            proposed = math.ceil(start * (1 + policy.value / 100))
        else:
            proposed = int(start * (1 - policy.value / 100))
        result = pick(result, proposed)
    return result


def store_scale_event(
    history: History, behavior: Behavior, before: int, after: int, now_s: float
) -> History:
    """Record a rescale, forgetting events older than the direction's longest period."""
    if after > before:
        longest = max((p.period_s for p in behavior.scale_up.policies), default=0.0)
        kept = tuple(e for e in history.scale_up_events if now_s - e[0] < longest)
        return replace(history, scale_up_events=(*kept, (now_s, after - before)))
    longest = max((p.period_s for p in behavior.scale_down.policies), default=0.0)
    kept = tuple(e for e in history.scale_down_events if now_s - e[0] < longest)
    return replace(history, scale_down_events=(*kept, (now_s, before - after)))


class HPA(PlainState):
    """The Horizontal Pod Autoscaler's controller on replica utilization."""

    name = "hpa"
    state_fields = ("desired", "recommendations", "scale_up_events", "scale_down_events")
    spills = False
    batch_option = "on_demand"
    serverless_memory_mb = 2048
    zero_boot = False

    def __init__(
        self,
        ctx: Context,
        target: float = 0.8,
        tolerance: float = 0.1,
        stabilization_s: float = DOWNSCALE_STABILIZATION_S,
        min_replicas: int = 1,
        max_replicas: int = MAX_REPLICAS,
        behavior: Behavior | None = None,
    ):
        self.variant = ctx.scenario.default_variant
        self.pool = primary_pool(ctx.scenario)
        self.profile = ctx.scenario.variant(self.variant).profile(self.pool[0])
        self.target, self.tolerance = target, tolerance
        self.stabilization_s = stabilization_s
        self.min_replicas, self.max_replicas = min_replicas, max_replicas
        self.behavior = behavior
        self.step_s = ctx.step_s
        self.sync_steps = max(1, round(SYNC_S / self.step_s))  # steps between syncs
        self.syncs_per_step = max(1, round(self.step_s / SYNC_S))
        self.desired = 0
        self.recommendations: deque[Event] = deque()
        self.scale_up_events: deque[Event] = deque()
        self.scale_down_events: deque[Event] = deque()

    def decide(self, obs: Observation) -> Decision:
        """The replicas after this step's syncs (step 0 sizes the running service)."""
        if obs.t == 0:
            initial = max(1, replicas_for_rate(obs.demand_rps, self.profile, self.target))
            self.desired = min(max(initial, self.min_replicas), self.max_replicas)
            self.recommendations.append((0.0, self.desired))  # recordInitialRecommendation
            return Decision({self.pool: self.desired})
        if obs.t % self.sync_steps:
            return Decision({self.pool: self.desired})
        ready, unready = obs.counts.get(self.pool, (0, 0))
        usage = obs.served_rps / self.profile.capacity_rps  # busy replicas' worth
        current = ready + unready
        for k in range(self.syncs_per_step):
            desired = self.sync(ready, unready, usage, current, obs.t * self.step_s + k * SYNC_S)
            ready, unready, usage = pods_after_rescale(ready, unready, usage, desired - current)
            current = desired
        self.desired = current
        return Decision({self.pool: self.desired})

    def sync(self, ready: int, unready: int, usage: float, current: int, now_s: float) -> int:
        """One reconcile: recommend, then normalize against the remembered history."""
        recommendation = recommend(ready, unready, 0, usage, self.target, self.tolerance, current)
        history = History(
            as_events(self.recommendations),
            as_events(self.scale_up_events),
            as_events(self.scale_down_events),
        )
        desired, history = normalize(
            current,
            recommendation,
            history,
            self.min_replicas,
            self.max_replicas,
            self.behavior,
            now_s=now_s,
            downscale_window_s=self.stabilization_s,
        )
        self.recommendations = deque(history.recommendations)
        self.scale_up_events = deque(history.scale_up_events)
        self.scale_down_events = deque(history.scale_down_events)
        return desired


def as_events(pairs: Iterable[Sequence[float]]) -> tuple[Event, ...]:
    """(time_s, replicas) tuples again from pairs restored from JSON as lists."""
    return tuple((float(t), int(n)) for t, n in pairs)


def pods_after_rescale(
    ready: int, unready: int, usage: float, change: int
) -> tuple[int, int, float]:
    """(ready, unready, usage) once `change` pods are added or removed within a step.

    New pods start unready; a scale-down removes unready pods first (as a ReplicaSet does),
    and each ready pod removed takes its share of the usage with it.
    """
    if change >= 0:
        return ready, unready + change, usage
    drop_unready = min(unready, -change)
    drop_ready = -change - drop_unready
    if ready == 0:
        return 0, unready - drop_unready, usage
    kept = ready - drop_ready
    return kept, unready - drop_unready, usage * kept / ready
