"""What every policy sees and answers: the observation of the last step and a decision."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from policies.forecasts import ForecastFeed
from policies.scenario import Scenario
from policies.sizing import router_max_late, sla_reachable

Pool = tuple[str, str]  # (instance type, purchase option), e.g. ("c6i.xlarge", "spot")


@dataclass(frozen=True)
class Observation:
    """The state a policy sees at the start of step t (what monitoring has by then).

    Attributes:
        t: the step about to start.
        step_s: step length.
        history_rps: arrivals per second of the completed steps, shape (t,); at t = 0 the first
            step's rate (the service was already running when the replay starts).
        demand_rps: arrivals per second in the last step (history_rps[-1]).
        served_rps: requests per second the VMs served in the last step.
        capacity_rps: saturation throughput of the VMs that served in the last step.
        utilization: served / capacity in the last step (1.0 with demand and no capacity).
        backlog: requests queued at the end of the last step.
        counts: (ready, pending) replicas per pool, reserved ones excluded.
        reserved: committed reserved replicas per instance type.
    """

    t: int
    step_s: int
    history_rps: np.ndarray
    demand_rps: float
    served_rps: float
    capacity_rps: float
    utilization: float
    backlog: float
    counts: dict[Pool, tuple[int, int]]
    reserved: dict[str, int]

    def replicas(self, pool: Pool) -> int:
        """Ready plus pending replicas in `pool`."""
        ready, pending = self.counts.get(pool, (0, 0))
        return ready + pending


@dataclass(frozen=True)
class Decision:
    """Desired replicas per pool, and reserved replicas to commit to now (per type)."""

    desired: dict[Pool, int]
    reserve: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    """What a policy may know before its first step: the scenario, forecasts, the seed.

    `future_rps` is the whole load, known only in a replay: the clairvoyant references read it
    (and refuse to run without it); every deployable policy sees the past through observations.
    """

    scenario: Scenario
    step_s: int
    forecasts: ForecastFeed
    seed: int
    name: str = ""
    future_rps: np.ndarray | None = None

    def clairvoyant_rps(self) -> np.ndarray:
        """The whole load, for a clairvoyant reference; ValueError outside a replay."""
        if self.future_rps is None:
            raise ValueError("a clairvoyant policy needs the whole load: it only runs in a replay")
        return self.future_rps


class Policy(Protocol):
    """A scaling policy: one instance per replay, called once per step."""

    name: str
    variant: str  # the model variant it serves
    spills: bool  # routes a share of requests to serverless functions (policies.routing)
    # The nightly batch: "on_demand" or "spot" (with checkpoints) on a fixed fleet, or
    # "planned": the schedule the plans app proposes (`simulation.batch.run_planned_nights`).
    batch_option: str
    serverless_memory_mb: int
    zero_boot: bool  # the oracle's clairvoyance: replicas serve the step they are asked for

    def decide(self, obs: Observation) -> Decision:
        """Desired replicas per pool for step `obs.t`."""
        ...

    def state(self) -> dict[str, Any]:
        """What the policy has learned so far, as JSON-ready plain data."""
        ...

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from `state` (what `state()` returned), as if never interrupted."""
        ...


class PlainState:
    """State as plain data for a policy whose learned state is a few attributes.

    `state_fields` names them; each holds a number, a bool, None or a deque of numbers. A policy
    with richer state (ballast's predictors, GA-PSO's plan) writes its own `state`/`restore`.
    """

    state_fields: tuple[str, ...] = ()

    def state(self) -> dict[str, Any]:
        """The `state_fields` by name, deques as lists."""
        return {
            name: list(value) if isinstance(value := getattr(self, name), deque) else value
            for name in self.state_fields
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Set each of `state_fields` back, deques keeping their length limit."""
        for name in self.state_fields:
            current = getattr(self, name)
            value = state[name]
            setattr(
                self, name, deque(value, current.maxlen) if isinstance(current, deque) else value
            )


def primary_pool(scenario: Scenario, option: str = "on_demand") -> Pool:
    """The first online instance type under `option`: where plain autoscalers put replicas."""
    return (scenario.online_types[0], option)


def decision_lead(boot_s: float, step_s: int) -> int:
    """Steps from a decision to the step its new replicas first serve, inclusive.

    A decision at step t sees loads up to t - 1, and what it launches serves from t + boot
    (rounded up to steps): so the decision's lead is the boot's steps plus one.
    """
    return math.ceil(boot_s / step_s) + 1


def cheapest_pool(
    scenario: Scenario,
    variant: str,
    options: tuple[str, ...],
    max_hazard_per_hour: float = 1.0,
    max_late: float | None = None,
) -> Pool:
    """The pool with the lowest price per unit of capacity for `variant`.

    Spot pools whose interruption hazard exceeds `max_hazard_per_hour` are left out, and so are
    types on which no replica count keeps `max_late` of requests within the SLA (by default the
    spill router's share for the type, `router_max_late`).
    """
    spec = scenario.variant(variant)
    best: tuple[float, Pool] | None = None
    for name in scenario.online_types:
        itype = scenario.instance(name)
        profile = spec.profile(name)
        late = max_late if max_late is not None else router_max_late(scenario, profile.service_ms)
        if not sla_reachable(profile, scenario, late):
            continue
        for option in options:
            if option == "spot" and itype.spot_hazard_per_hour > max_hazard_per_hour:
                continue
            per_rps = itype.price_per_hour_usd(option) / profile.capacity_rps
            if best is None or per_rps < best[0]:
                best = (per_rps, (name, option))
    if best is None:
        raise ValueError(
            f"no {' or '.join(options)} pool with an interruption hazard of at most "
            f"{max_hazard_per_hour:g}/h"
            + f" on which some replica count meets p{scenario.latency_percentile:g} under "
            f"{scenario.latency_target_ms:g} ms"
        )
    return best[1]
