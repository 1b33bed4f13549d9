"""Spend estimated from plans: which plans were in force when, and what each cost per day.

Spend is estimated from plans, not read from a bill (the overview page says so too):

- An applied plan is in force from its `applied_at` until the next applied plan of the same
  workload (or now); while in force it costs its chosen candidate's `cost_per_day_usd`. A day's
  spend is the sum of each plan's cost per day times the share of that day it was in force.
- The split by purchase option follows the candidate's schedule: each offer's replica-hours
  times its hourly price, the rest (serverless) as "serverless".
- Next week's spend is 7 x the cost per day of each workload's newest plan that is proposed,
  approved or applied (`newest_plans`): a plan's horizon is a day, and the newest plan is the
  best guess of what will run; workloads with none are left out and listed.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from apps.plans.models import ScalingPlan

DAY_S = 86_400
IN_FORCE_STATUSES = (ScalingPlan.Status.APPLIED,)
NEWEST_STATUSES = (
    ScalingPlan.Status.PROPOSED,
    ScalingPlan.Status.APPROVED,
    ScalingPlan.Status.APPLIED,
)


@dataclass(frozen=True)
class Period:
    """A plan in force from `start` to `end`."""

    plan: ScalingPlan
    start: datetime
    end: datetime


def in_force_periods(plans: list[ScalingPlan], now: datetime) -> list[Period]:
    """Applied plans of workloads, each in force until its workload's next applied plan."""
    by_workload: dict[int, list[ScalingPlan]] = {}
    for plan in sorted(plans, key=lambda p: p.applied_at):
        by_workload.setdefault(plan.workload_id, []).append(plan)
    periods = []
    for chain in by_workload.values():
        ends = [p.applied_at for p in chain[1:]] + [now]
        periods += [Period(p, p.applied_at, end) for p, end in zip(chain, ends, strict=True)]
    return periods


def applied_plans(workloads) -> list[ScalingPlan]:
    """Applied plans of the given workloads, with their workload and team."""
    return list(
        ScalingPlan.objects.filter(
            workload__in=workloads, status__in=IN_FORCE_STATUSES, applied_at__isnull=False
        ).select_related("workload__team")
    )


def option_shares(plan: ScalingPlan) -> dict[str, float]:
    """The chosen candidate's cost per day split by purchase option (USD/day)."""
    chosen, total = plan.chosen, plan.expected_cost_per_day_usd or 0.0
    offers = {o.name: o for o in plan.offers()}
    if not chosen or not chosen.schedule:
        return {"unknown": total}
    hours = len(chosen.schedule) * plan.interval_s / 3600
    per_day = 1.0 if plan.is_batch else 24 / hours  # a batch plan is one run a day
    split: dict[str, float] = {}
    for row in chosen.schedule:
        for placement in row:
            offer = offers.get(placement.offer)
            price = offer.price_per_hour_usd if offer else 0.0
            usd = placement.count * price * plan.interval_s / 3600
            option = offer.purchase_option if offer else "unknown"
            split[option] = split.get(option, 0.0) + usd * per_day
    vm = sum(split.values())
    if total - vm > 1e-6:
        split["serverless"] = total - vm
    return split


def daily_spend(periods: list[Period], days: list[datetime]) -> dict[str, dict[str, list[float]]]:
    """USD per day by team, workload and purchase option, for the UTC days starting at `days`."""
    out: dict[str, dict[str, list[float]]] = {"team": {}, "workload": {}, "purchase_option": {}}
    for period in periods:
        plan = period.plan
        shares = [
            _overlap_s(period.start, period.end, day, day + timedelta(days=1)) / DAY_S
            for day in days
        ]
        per_day = plan.expected_cost_per_day_usd or 0.0
        groups = {
            "team": {plan.workload.team.slug: per_day},
            "workload": {f"{plan.workload.team.slug}/{plan.workload.name}": per_day},
            "purchase_option": option_shares(plan),
        }
        for kind, split in groups.items():
            for label, usd in split.items():
                row = out[kind].setdefault(label, [0.0] * len(days))
                for i, share in enumerate(shares):
                    row[i] += usd * share
    return out


def _overlap_s(a0: datetime, a1: datetime, b0: datetime, b1: datetime) -> float:
    return max(0.0, (min(a1, b1) - max(a0, b0)).total_seconds())


def newest_plans(workloads) -> dict[int, ScalingPlan]:
    """Each workload's newest proposed, approved or applied plan."""
    newest: dict[int, ScalingPlan] = {}
    for plan in ScalingPlan.objects.filter(
        workload__in=workloads, status__in=NEWEST_STATUSES
    ).select_related("workload__team"):
        newest.setdefault(plan.workload_id, plan)  # ordered newest first
    return newest
