"""Stepping a policy on live metrics exactly as a replay steps it.

The live controller and the simulator share everything here, so that a policy sees the same
observation and is asked at the same steps in both:

- Step t covers [origin + t * step_s, origin + (t + 1) * step_s). Its decision is made at its
  start from the load of steps before t; at t = 0, which a replay starts warm, from step 0's
  own load (a controller only meets t = 0 while catching up, when that load is stored).
- A step missed (a worker down, a late beat) is caught up: the policy is run on it, in order,
  so that what it learns does not depend on the controller's timeliness, but only the newest
  step's decision is applied. An outage longer than `max_catch_up_steps` restarts the policy
  from a new origin instead of replaying the whole gap.
- A step already decided is never decided again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from policies.base import Observation, Pool


@dataclass(frozen=True, slots=True)
class DueSteps:
    """What the controller runs now: `steps` in order (the last one applied), or a restart."""

    steps: range
    restart: bool  # the gap since the last step exceeded the catch-up limit

    @property
    def caught_up(self) -> int:
        """Steps run only to keep the policy's learning in order (all but the newest)."""
        return max(0, len(self.steps) - 1)


def step_at(now_s: float, origin_s: float, step_s: int) -> int:
    """The step under way at `now_s` (negative before the origin)."""
    return int((now_s - origin_s) // step_s)


def due_steps(last_step: int | None, now_step: int, max_catch_up_steps: int) -> DueSteps:
    """The steps to run after `last_step` (None: never stepped), up to `now_step` inclusive."""
    first = 0 if last_step is None else last_step + 1
    if now_step < first:
        return DueSteps(range(0), False)
    if now_step - first + 1 > max_catch_up_steps:
        return DueSteps(range(now_step - max_catch_up_steps + 1, now_step + 1), True)
    return DueSteps(range(first, now_step + 1), False)


def observe(
    t: int,
    step_s: int,
    history_rps: np.ndarray,
    capacity_rps_per_replica: Mapping[Pool, float],
    counts: Mapping[Pool, int],
    reserved: Mapping[str, int] | None = None,
    observed: Mapping[Pool, tuple[int, int]] | None = None,
) -> Observation:
    """The observation of step t on a live service.

    `history_rps` holds the load of the steps before t (the newest last; at t = 0 step 0's own,
    as a replay starts warm), as many as the policy reads. A live service reports the load it
    was sent, not what its replicas served: served is what the ready replicas' capacity
    carries of the load. The replicas are `observed`, (ready, pending) per pool as the
    targets report them (`actuators.serving`); where nothing was observed, the last
    decision's `counts`, taken as all ready.
    """
    if len(history_rps) == 0:
        raise ValueError("history_rps: a step needs the load of at least one earlier step")
    replicas = {pool: (n, 0) for pool, n in counts.items()} if observed is None else dict(observed)
    demand = float(history_rps[-1])
    capacity = float(
        sum(n * capacity_rps_per_replica.get(pool, 0.0) for pool, (n, _) in replicas.items())
    )
    served = min(demand, capacity)
    utilization = served / capacity if capacity else (1.0 if demand > 0 else 0.0)
    return Observation(
        t=t,
        step_s=step_s,
        history_rps=history_rps,
        demand_rps=demand,
        served_rps=served,
        capacity_rps=capacity,
        utilization=utilization,
        backlog=0.0,
        counts=replicas,
        reserved=dict(reserved or {}),
    )


def history_for(t: int, rps: np.ndarray, first: int) -> np.ndarray:
    """The observed history of step t from `rps`, the load of steps first, first + 1, ...

    Steps before t (step 0 itself at t = 0, the replay's warm start).
    """
    stop = max(t, 1) - first
    if stop <= 0:
        raise ValueError(f"history: step {t} needs steps from {first}, none is stored before it")
    return rps[:stop]
