"""What a person deciding on a plan reads beside it; reads only, no writes.

The plan in force and the plans it replaced, what a plan changes from it per pool and hour,
who could approve it, what its apply touches (dry run or live), and how far a build or an
apply has got, with the time left estimated from the workload's earlier plans.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.accounts.models import Role
from apps.actuation.models import ApplyStep
from apps.actuation.registry import connection_gap
from apps.plans.applying import how_applied
from apps.plans.models import AuditEvent, PlanStatus, ScalingPlan, frozen_target
from apps.workloads.models import Workload

S = PlanStatus
# States a page follows while it is open: each may move on without the person reading it.
MOVING = (S.DRAFT, S.PROPOSED, S.APPROVED, S.APPLYING)
SERVERLESS = "serverless (requests/s)"


def applied_newest_first(workload_id: int) -> QuerySet[ScalingPlan]:
    """The workload's applied plans, the one in force first (as the live controller reads)."""
    return ScalingPlan.objects.filter(workload_id=workload_id, status=S.APPLIED).order_by(
        "-applied_at", "-pk"
    )


def in_force(workload_id: int) -> ScalingPlan | None:
    """The plan in force: the newest applied one, or None before any apply."""
    return applied_newest_first(workload_id).first()


def replaced_by(workload_id: int, newest: int = 200) -> dict[int, int | None]:
    """Applied plan id -> the applied plan that replaced it (None: the one in force).

    Of the `newest` applied plans, which are what a page lists.
    """
    ids = list(applied_newest_first(workload_id).values_list("pk", flat=True)[:newest])
    return {plan_id: (ids[i - 1] if i else None) for i, plan_id in enumerate(ids)}


def successor(plan: ScalingPlan) -> int | None:
    """The applied plan that replaced `plan` (applied after it), or None."""
    if plan.status != S.APPLIED or plan.applied_at is None:
        return None
    later = Q(applied_at__gt=plan.applied_at) | Q(applied_at=plan.applied_at, pk__gt=plan.pk)
    return (
        ScalingPlan.objects.filter(later, workload_id=plan.workload_id, status=S.APPLIED)
        .order_by("applied_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )


def pool_name(offer: str) -> str:
    """'c6i.xlarge/spot' -> 'c6i.xlarge, spot' (instance type and purchase option)."""
    instance_type, _, option = offer.partition("/")
    return f"{instance_type}, {option.replace('_', '-')}" if option else instance_type


def interval_pools(plan: ScalingPlan | None, index: int) -> dict[str, float]:
    """Pool -> replicas (and functions' requests/s) of `plan`'s chosen candidate at `index`."""
    chosen = plan.chosen if plan is not None else None
    if chosen is None or not 0 <= index < len(chosen.schedule):
        return {}
    pools: dict[str, float] = {}
    for placement in chosen.schedule[index]:
        name = pool_name(placement.offer)
        pools[name] = pools.get(name, 0) + placement.count
    if index < len(chosen.serverless_rps) and chosen.serverless_rps[index] > 0:
        pools[SERVERLESS] = round(chosen.serverless_rps[index], 1)
    return pools


def base_index(plan: ScalingPlan, index: int, base: ScalingPlan) -> int | None:
    """The interval of `base` that runs at the clock time of `plan`'s interval `index`.

    Hourly plans are day-ahead patterns, which the controller maps onto the clock by hour of
    the day (UTC, `policies.envelope.by_hour_of_day`); others by their start times.
    """
    if plan.start_at is None or base.start_at is None:
        return index
    if plan.interval_s == base.interval_s == 3600:
        return (plan.start_at.hour + index - base.start_at.hour) % 24
    at = plan.start_at + timedelta(seconds=index * plan.interval_s)
    return int((at - base.start_at).total_seconds() // base.interval_s)


@dataclass
class Diff:
    """What a plan changes from the one in force, per pool and per interval (clock time, UTC)."""

    base: ScalingPlan | None
    pools: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)  # start, end, cells [(now, planned)], changed
    totals: list[dict] = field(default_factory=list)  # per pool: now and planned replica-hours


def diff_from_in_force(plan: ScalingPlan) -> Diff:
    """`plan`'s chosen schedule against what the plan in force runs at the same hours.

    An applied plan is held against the one it replaced, so its page keeps saying what it
    changed.
    """
    applied = plan.applied_at is not None and plan.status in (S.APPLIED, S.ROLLED_BACK)
    base = _previous_applied(plan) if applied else in_force(plan.workload_id)
    chosen = plan.chosen
    diff = Diff(base=base)
    if chosen is None:
        return diff
    hours = plan.interval_s / 3600
    intervals = []
    for i in range(len(chosen.schedule)):
        j = base_index(plan, i, base) if base is not None else None
        intervals.append(
            (interval_pools(base, j) if j is not None else {}, interval_pools(plan, i))
        )
    names = {name for pair in intervals for pools in pair for name in pools}
    diff.pools = sorted(names, key=lambda n: (n == SERVERLESS, n))
    for i, (now, planned) in enumerate(intervals):
        start = plan.start_at + timedelta(seconds=i * plan.interval_s) if plan.start_at else None
        cells = [(now.get(n, 0), planned.get(n, 0)) for n in diff.pools]
        diff.rows.append(
            {
                "start": start,
                "end": start + timedelta(seconds=plan.interval_s) if start else None,
                "index": i,
                "cells": cells,
                "changed": any(a != b for a, b in cells),
            }
        )
    for k, name in enumerate(diff.pools):
        # Replicas add up to replica-hours; the functions' requests/s average over the horizon.
        scale = 1 / len(diff.rows) if name == SERVERLESS else hours
        now_total = sum(row["cells"][k][0] for row in diff.rows) * scale
        planned_total = sum(row["cells"][k][1] for row in diff.rows) * scale
        diff.totals.append(
            {
                "pool": name,
                "unit": "requests/s on average" if name == SERVERLESS else "replica-hours",
                "now": now_total,
                "planned": planned_total,
                "change": planned_total - now_total,
            }
        )
    return diff


def _previous_applied(plan: ScalingPlan) -> ScalingPlan | None:
    """The plan in force before `plan` was applied."""
    return (
        applied_newest_first(plan.workload_id)
        .filter(applied_at__lt=plan.applied_at)
        .exclude(pk=plan.pk)
        .first()
    )


def possible_approvers(plan: ScalingPlan) -> list[str]:
    """Who may approve `plan` in a page: the team's SREs but its requester and its chooser.

    The four eyes of `decisions.decision_refusal`, by username.
    """
    excluded = {plan.requested_by_id, plan.chosen_by_id} - {None}
    members = plan.workload.team.memberships.filter(role=Role.SRE).exclude(user_id__in=excluded)
    return sorted(members.values_list("user__username", flat=True))


def team_sres(plan: ScalingPlan) -> list[str]:
    """Every SRE of the plan's team, by username."""
    members = plan.workload.team.memberships.filter(role=Role.SRE)
    return sorted(members.values_list("user__username", flat=True))


def apply_targets(plan: ScalingPlan) -> list[dict]:
    """What an apply of `plan` touches: each frozen target, dry run or live, in words.

    `how` says what the apply does there, `gap` what is missing to reach its system (a live
    target with a gap is refused when the apply reaches it). A plan from before targets were
    frozen applies to its workload's targets as they are.
    """
    rows = {t.pk: t for t in plan.workload.targets.select_related("workload__team").order_by("pk")}
    frozen = plan.targets or [frozen_target(t) for t in rows.values()]
    described = []
    for target in frozen:
        row = rows.get(target["id"])
        if row is None or frozen_target(row) != target:
            how = "removed or changed since the plan was proposed: the apply stops there"
            described.append({**target, "how": how, "gap": how})
            continue
        gap = connection_gap(row)
        how = how_applied(target)
        if target["dry_run"] and gap is None:
            how = "dry run: the system checks each step where its API can, nothing is changed"
        elif not target["dry_run"] and gap is not None:
            how = f"live, but {gap}: the apply will fail there"
        described.append({**target, "how": how, "gap": gap})
    return described


@dataclass(frozen=True)
class Progress:
    """How far a build or an apply has got, and the time left where earlier plans tell it."""

    elapsed_s: float
    typical_s: float | None  # the median of the workload's earlier plans, when there are some
    done: int | None = None  # apply: steps finished
    total: int | None = None  # apply: targets to take

    @property
    def left_s(self) -> float | None:
        """Seconds left by the typical duration (never below 0), or None without one."""
        return None if self.typical_s is None else max(self.typical_s - self.elapsed_s, 0.0)


def progress(plan: ScalingPlan, now: datetime | None = None) -> Progress | None:
    """A draft's build or an applying plan's apply, as far as it has got; None otherwise."""
    now = now or timezone.now()
    if plan.status == S.DRAFT:
        typical = _typical_s(plan.workload, "plan.proposed", since="created")
        return Progress((now - plan.created_at).total_seconds(), typical)
    if plan.status == S.APPLYING:
        began = (
            AuditEvent.objects.filter(plan_id=plan.pk, action="plan.applying")
            .order_by("-at")
            .values_list("at", flat=True)
            .first()
        ) or plan.updated_at
        steps = ApplyStep.objects.filter(plan=plan, purpose=ApplyStep.Purpose.APPLY)
        return Progress(
            (now - began).total_seconds(),
            _typical_s(plan.workload, "plan.applied", since="plan.applying"),
            done=steps.exclude(status=ApplyStep.Status.PENDING).count(),
            total=len(apply_targets(plan)),
        )
    return None


def _typical_s(workload: Workload, until: str, *, since: str) -> float | None:
    """The median seconds the workload's last 10 plans took from `since` to `until` events."""
    ends = dict(
        AuditEvent.objects.filter(workload_id=workload.pk, action=until)
        .order_by("-at")
        .values_list("plan_id", "at")[:10]
    )
    if not ends:
        return None
    if since == "created":
        starts = dict(ScalingPlan.objects.filter(pk__in=ends).values_list("pk", "created_at"))
    else:
        starts = dict(
            AuditEvent.objects.filter(plan_id__in=ends, action=since).values_list("plan_id", "at")
        )
    spans = [(ends[p] - starts[p]).total_seconds() for p in ends if p in starts]
    return median(spans) if spans else None
