"""Batch jobs: spot or on-demand replicas per interval to finish before a deadline.

Spot work is credited at its expected efficiency: checkpoint overhead C/tau, and per
interruption (hazard h per hour) the lost work plus the replacement's boot delay. In the last
intervals, where an interruption could not be recovered before the deadline, spot is not
allowed: the plan switches to on-demand. Re-planning with the items left does the same mid-run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from optimization.layout import InfeasibleProblem
from optimization.problem import Offer, check_finite


@dataclass(frozen=True, slots=True)
class BatchJob:
    """Items left to process and the time left to do it."""

    name: str
    items: float
    deadline_s: float
    interval_s: int
    items_per_s: Mapping[str, float]  # per replica, by instance type
    checkpoint_interval_s: float = 600.0
    checkpoint_cost_s: float = 10.0  # docs/cost-model.md section 6
    checkpoint_on_notice: bool = True  # the 120 s notice saves progress
    max_replicas: int = 100
    min_replicas: int = 0  # in every interval of the window (a guardrail's floor)
    max_change_per_interval: int | None = None  # between intervals, from none at the start

    def __post_init__(self) -> None:
        for name in ("items", "deadline_s", "interval_s", "checkpoint_cost_s", "max_replicas"):
            check_finite(f"batch {self.name}: {name}", getattr(self, name))
        if self.interval_s <= 0 or self.checkpoint_interval_s <= 0:
            raise ValueError(f"batch {self.name}: interval_s, checkpoint_interval_s must be > 0")
        for itype, rate in self.items_per_s.items():
            check_finite(f"batch {self.name}: items_per_s[{itype}]", rate)


@dataclass(frozen=True, eq=False)
class BatchPlan:
    """Replicas per interval and offer, with the expected bill and interruption loss."""

    offer_names: tuple[str, ...]
    counts: np.ndarray  # (T, J)
    cost_usd: float
    expected_items: float
    expected_interruption_loss_items: float
    spot_allowed_until_interval: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "offers": list(self.offer_names),
            "counts": self.counts.astype(int).tolist(),
            "cost_usd": self.cost_usd,
            "expected_items": self.expected_items,
            "expected_interruption_loss_items": self.expected_interruption_loss_items,
            "spot_allowed_until_interval": self.spot_allowed_until_interval,
        }


def spot_efficiency(job: BatchJob, offer: Offer) -> tuple[float, float]:
    """(useful share of a replica-second, share lost to interruptions) for `offer`."""
    overhead = job.checkpoint_cost_s / job.checkpoint_interval_s
    if not offer.is_spot:
        return 1.0, 0.0
    lost_work_s = (
        job.checkpoint_cost_s if job.checkpoint_on_notice else job.checkpoint_interval_s / 2
    )
    loss = offer.interruption_rate_per_hour / 3600 * (lost_work_s + offer.boot_delay_s)
    return max(0.0, 1.0 - overhead - loss), loss


def plan_batch(job: BatchJob, offers: Sequence[Offer]) -> BatchPlan:
    """The cheapest replicas per interval that finish `job.items` by the deadline.

    Items are counted in expectation; spot only runs where an interruption can still be
    recovered before the deadline. A replica started in an interval (all of the first
    interval's, and each one added later) does no work while it boots. Every interval keeps
    `job.min_replicas`, and the fleet changes by at most `job.max_change_per_interval`
    between intervals (from none before the first).

    Raises:
        InfeasibleProblem: naming "deadline_s" when even all allowed capacity is too slow.
    """
    # scipy (70 MB, 0.6 s) loads here, not with the module, which the web process imports.
    from scipy.optimize import Bounds, LinearConstraint, milp

    usable = [o for o in offers if o.instance_type in job.items_per_s and not o.is_committed]
    if not usable:
        raise InfeasibleProblem("offers", "no spot or on-demand offer for the job's instance types")
    T = max(1, math.floor(job.deadline_s / job.interval_s))
    J = len(usable)
    recovery_s = max(o.boot_delay_s for o in usable) + job.checkpoint_interval_s
    spot_until = max(0, math.floor((job.deadline_s - recovery_s) / job.interval_s))
    eff = np.array([spot_efficiency(job, o) for o in usable])
    per_s = np.array([job.items_per_s[o.instance_type] for o in usable]) * eff[:, 0]
    boot_loss = per_s * np.array([min(o.boot_delay_s, job.interval_s) for o in usable])
    credit = np.tile(per_s * job.interval_s, T)
    allowed = np.array([[not o.is_spot or t < spot_until for o in usable] for t in range(T)])
    price = np.tile([o.price_per_hour_usd * job.interval_s / 3600 for o in usable], T)
    # Variables: replicas x[t, j], then replicas started s[t, j] >= x[t, j] - x[t-1, j].
    n = T * J
    started = np.hstack([-np.eye(n) + np.eye(n, k=-J), np.eye(n)])
    fleet = np.hstack([np.kron(np.eye(T), np.ones(J)), np.zeros((T, n))])
    cap = np.where(allowed.ravel(), job.max_replicas, 0)
    limits = [LinearConstraint(fleet, min(job.min_replicas, job.max_replicas), job.max_replicas)]
    if job.max_change_per_interval is not None:
        change = (np.eye(T) - np.eye(T, k=-1)) @ fleet  # fleet[t] - fleet[t - 1], none before
        step = job.max_change_per_interval
        limits.append(LinearConstraint(change, -step, step))
    result = milp(
        np.concatenate([price, np.zeros(n)]),
        integrality=np.ones(2 * n),
        bounds=Bounds(0, np.concatenate([cap, cap])),
        constraints=[
            LinearConstraint(np.concatenate([credit, -np.tile(boot_loss, T)])[None], job.items),
            LinearConstraint(started, 0, np.inf),
            *limits,
        ],
        options={"time_limit": 10.0},
    )
    if result.x is None:
        raise InfeasibleProblem(
            "deadline_s", f"{job.items:g} items cannot be done in {job.deadline_s:g} s"
        )
    counts = np.rint(result.x[:n]).reshape(T, J)
    booted = np.rint(result.x[n:])
    return BatchPlan(
        offer_names=tuple(o.name for o in usable),
        counts=counts,
        cost_usd=float(price @ counts.ravel()),
        expected_items=float(credit @ counts.ravel() - np.tile(boot_loss, T) @ booted),
        expected_interruption_loss_items=float(
            (
                counts
                * job.interval_s
                * np.array([job.items_per_s[o.instance_type] for o in usable])
                * eff[:, 1]
            ).sum()
        ),
        spot_allowed_until_interval=spot_until,
    )


DEADLINE_MISS_ALLOWED = 0.01  # a batch SLA holds when at most 1 % of runs miss the deadline
WORK_MARGINS = (1.0, 1.1, 1.25)  # work planned over the items, against interruptions' spread


def batch_front(
    jobs: Mapping[str, BatchJob], offers: Sequence[Offer]
) -> list[tuple[str, float, BatchPlan]]:
    """(variant, work margin, plan): every way a plan may run a batch job, cheapest first.

    For each variant's job (`jobs`: variant name -> the job with its items per second): with
    spot (checkpointed, on-demand near the deadline) planned for the items times each of
    `WORK_MARGINS` (spare work, since interruptions scatter what spot delivers), and on
    on-demand alone. Which meets the deadline often enough is for the replay to say
    (`simulation.batch.replay_schedule`).

    Raises:
        InfeasibleProblem: naming "deadline_s" when no variant can finish in time.
    """
    on_demand = [o for o in offers if not o.is_spot]
    out: dict[tuple[str, bytes], tuple[str, float, BatchPlan]] = {}
    for variant, job in jobs.items():
        ways = [(offers, m) for m in WORK_MARGINS if any(o.is_spot for o in offers)]
        ways += [(on_demand, 1.0)] if on_demand else []
        for pool, margin in ways:
            try:
                plan = plan_batch(replace(job, items=job.items * margin), pool)
            except InfeasibleProblem:
                continue
            key = (variant, "|".join(plan.offer_names).encode() + plan.counts.tobytes())
            out.setdefault(key, (variant, margin, plan))
    if not out:
        raise InfeasibleProblem(
            "deadline_s",
            f"no variant finishes the job in {max(j.deadline_s for j in jobs.values()):g} s",
        )
    return sorted(out.values(), key=lambda e: (e[2].cost_usd, e[1], e[0]))
