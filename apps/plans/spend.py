"""Spend estimated from plans: which plans were in force when, and what each cost per day.

An estimate, never the bill: the overview shows it beside what the bill says
(`apps.billing.billed`) and labels each.

- An applied plan is in force from its `applied_at` until the next applied plan of the same
  workload (or now); while in force it costs its chosen candidate's `cost_per_day_usd`. A day's
  spend is the sum of each plan's cost per day times the share of that day it was in force.
- The split by purchase option follows the candidate's schedule: each offer's replica-hours
  times its hourly price, the rest (serverless) as "serverless".
- The overview reads spend per workload and day (`planned_days`), with each plan's cost per
  day read inside the database (`ChosenCostPerDay`) for only the plans in force in the range,
  so no plan's front is loaded. Its forecast is what is in force now, carried forward
  (`in_force_now`): a plan's schedule covers a day and the controller repeats it until
  another plan is applied.
  Plans nobody approved are never spend; `pending_plans` names them for "if applied" figures.
- `newest_plans` (the newest proposed, approved or applied plan) is what the latency model
  reads; it is not spend.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import DateTimeField, F, FloatField, Func, Value, Window
from django.db.models.fields.json import KT
from django.db.models.functions import Lead

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


class ChosenCostPerDay(Func):
    """A plan's chosen candidate's `cost_per_day_usd`, read from `front` inside the database.

    Reading it there spares loading each plan's front (every candidate's schedule and
    envelope, tens of kilobytes) to take one number out of it. NULL when none is chosen.
    """

    output_field = FloatField()

    def __init__(self) -> None:
        super().__init__(F("front"), F("chosen_index"))

    def as_postgresql(self, compiler, connection, **extra_context):
        """`front -> chosen_index ->> 'cost_per_day_usd'` on jsonb."""
        return super().as_sql(
            compiler,
            connection,
            template="CAST((%(expressions)s) ->> 'cost_per_day_usd' AS double precision)",
            arg_joiner=" -> ",
            **extra_context,
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        """`json_extract(front, '$[<chosen_index>].cost_per_day_usd')` (the demo's database)."""
        return super().as_sql(
            compiler,
            connection,
            template="json_extract(%(expressions)s || '].cost_per_day_usd')",
            arg_joiner=", '$[' || ",
            **extra_context,
        )


@dataclass(frozen=True, slots=True)
class CostPeriod:
    """An applied plan's cost per day from `start` until `end` (the next applied plan or now)."""

    workload_id: int
    plan_id: int
    start: datetime
    end: datetime
    cost_per_day_usd: float


@dataclass(frozen=True, slots=True)
class InForce:
    """The plan in force on a workload now, and how its schedule was sized."""

    workload_id: int
    plan_id: int
    applied_at: datetime
    cost_per_day_usd: float
    basis: str  # "forecast run 12 (ets)", "the SLA's peak (onboarding, no forecast)", ...


@dataclass(frozen=True, slots=True)
class Pending:
    """A workload's newest plan awaiting its decision or its apply (proposed or approved)."""

    workload_id: int
    plan_id: int
    status: str
    cost_per_day_usd: float


def _applied(workload_ids: Iterable[int], now: datetime):
    """Applied plans of the workloads, each with the time the next one replaced it (or now).

    No JSON is read here: the window runs over every applied plan of the workloads' history,
    and only the plans it keeps have their costs read (`_costs`).
    """
    return ScalingPlan.objects.filter(
        workload_id__in=list(workload_ids),
        status__in=IN_FORCE_STATUSES,
        applied_at__isnull=False,
        applied_at__lt=now,
    ).annotate(
        ends_at=Window(
            Lead("applied_at", default=Value(now, output_field=DateTimeField())),
            partition_by=[F("workload_id")],
            order_by=[F("applied_at").asc(), F("pk").asc()],
        ),
    )


def _costs(plans) -> dict[int, float]:
    """Plan id -> its chosen candidate's cost per day (0 when none is chosen).

    `plans` is a QuerySet, used as a subquery: a list of thousands of ids would cost more to
    send than the costs do to read.
    """
    rows = ScalingPlan.objects.filter(pk__in=plans.values("pk")).annotate(cost=ChosenCostPerDay())
    return {pk: cost or 0.0 for pk, cost in rows.values_list("pk", "cost")}


def cost_periods(
    workload_ids: Iterable[int], start: datetime, end: datetime, now: datetime
) -> list[CostPeriod]:
    """The in-force periods of applied plans that overlap [start, min(end, now)), clipped."""
    stop = min(end, now)
    if stop <= start:
        return []
    in_range = _applied(workload_ids, stop).filter(ends_at__gt=start)
    rows = in_range.values_list("workload_id", "pk", "applied_at", "ends_at")
    costs = _costs(in_range)
    return [
        CostPeriod(workload_id, pk, max(applied_at, start), min(ends_at, stop), costs[pk])
        for workload_id, pk, applied_at, ends_at in rows
    ]


def day_start(day: date) -> datetime:
    """The UTC instant a day starts."""
    return datetime.combine(day, time(), tzinfo=UTC)


def spread_over_days(periods: Iterable[CostPeriod]) -> dict[tuple[int, date], float]:
    """USD per (workload id, UTC day): each period's cost per day times its share of each day."""
    out: dict[tuple[int, date], float] = {}
    for period in periods:
        day = period.start.astimezone(UTC).date()
        while (start := day_start(day)) < period.end:
            overlap_s = _overlap_s(period.start, period.end, start, start + timedelta(days=1))
            key = (period.workload_id, day)
            out[key] = out.get(key, 0.0) + period.cost_per_day_usd * overlap_s / DAY_S
            day += timedelta(days=1)
    return out


def planned_days(
    workload_ids: Iterable[int], first: date, last: date, now: datetime
) -> dict[tuple[int, date], float]:
    """Spend estimated from applied plans per (workload id, day), days `first`..`last`, to now."""
    periods = cost_periods(workload_ids, day_start(first), day_start(last + timedelta(days=1)), now)
    return spread_over_days(periods)


def in_force_now(workload_ids: Iterable[int], now: datetime) -> dict[int, InForce]:
    """Each workload's plan in force now (its newest applied plan), by workload id."""
    newest = list(_applied(workload_ids, now).filter(ends_at=now).values_list("pk", flat=True))
    rows = (
        ScalingPlan.objects.filter(pk__in=newest)
        .annotate(
            cost=ChosenCostPerDay(), kind=KT("problem__kind"), model=F("forecast_run__model_used")
        )
        .values_list("workload_id", "pk", "applied_at", "cost", "kind", "forecast_run_id", "model")
    )
    return {
        workload_id: InForce(workload_id, pk, applied_at, cost or 0.0, _basis(kind, run, model))
        for workload_id, pk, applied_at, cost, kind, run, model in rows
    }


def _basis(kind: str | None, run_id: int | None, model: str | None) -> str:
    if kind == "batch":
        return "a batch plan: one run a day at its chosen schedule"
    if run_id is None:
        return "an onboarding plan: every hour at the SLA's peak (no forecast yet)"
    return f"forecast run {run_id} ({model or 'model not recorded'}), hour by hour"


def pending_plans(workload_ids: Iterable[int], now: datetime) -> dict[int, Pending]:
    """Each workload's newest proposed or approved plan that has not expired, by workload id."""
    rows = (
        ScalingPlan.objects.filter(
            workload_id__in=list(workload_ids),
            status__in=[ScalingPlan.Status.PROPOSED, ScalingPlan.Status.APPROVED],
            expires_at__gt=now,
        )
        .annotate(cost=ChosenCostPerDay())
        .values_list("workload_id", "pk", "status", "cost")
    )
    pending: dict[int, Pending] = {}
    for workload_id, pk, status, cost in rows:  # newest first
        pending.setdefault(workload_id, Pending(workload_id, pk, status, cost or 0.0))
    return pending
