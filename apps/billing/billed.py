"""Billed spend as the overview reads it: sums per day, summed inside the database.

Every read is scoped to what the user may see: team members get their teams' allocated lines
(those with a workload); unallocated lines (untagged, or tagged with no known workload) are
FinOps-only, as `apps.billing.models` says. Amounts come back as floats in USD.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Max, Sum

from apps.accounts.roles import reads_all_teams
from apps.billing.models import BilledCost, BillingSource


@dataclass(frozen=True, slots=True)
class BillScope:
    """Which billed lines a read covers: a user's, within days and optional filters."""

    user: object
    start: date  # first day, inclusive
    end: date  # last day, inclusive
    team_id: int | None = None
    workload_id: int | None = None


@dataclass(frozen=True, slots=True)
class BilledDay:
    """One day of one workload's billed spend; `workload_id` None is unallocated spend."""

    day: date
    team_id: int | None
    workload_id: int | None
    amount_usd: float


@dataclass(frozen=True, slots=True)
class SourceSummary:
    """Where a part of the bill came from, and how its last pull went."""

    name: str
    kind: str  # the kind's label: "AWS Cost Explorer", ...
    last_pulled_at: datetime | None
    last_error: str
    amount_usd: float  # its lines in the scope
    newest_day: date | None


def billed_lines(scope: BillScope):
    """The BilledCost rows in `scope` (a QuerySet), unallocated ones only for FinOps."""
    rows = BilledCost.objects.visible_to(scope.user).filter(day__range=(scope.start, scope.end))
    if not reads_all_teams(scope.user):
        rows = rows.filter(workload__isnull=False)
    if scope.team_id is not None:
        rows = rows.filter(team_id=scope.team_id)
    if scope.workload_id is not None:
        rows = rows.filter(workload_id=scope.workload_id)
    return rows


def billed_days(scope: BillScope) -> list[BilledDay]:
    """Billed USD per day and workload (and team), oldest day first."""
    sums = (
        billed_lines(scope)
        .order_by()
        .values("day", "team_id", "workload_id")
        .annotate(usd=Sum("amount_usd"))
        .order_by("day", "team_id", "workload_id")
    )
    return [BilledDay(s["day"], s["team_id"], s["workload_id"], float(s["usd"])) for s in sums]


def billed_by_option(scope: BillScope) -> dict[str, dict[date, float]]:
    """Billed USD per purchase option (its label) and day."""
    sums = (
        billed_lines(scope)
        .order_by()
        .values("purchase_option", "day")
        .annotate(usd=Sum("amount_usd"))
    )
    labels = dict(BilledCost.PurchaseOption.choices)
    out: dict[str, dict[date, float]] = {}
    for s in sums:
        label = labels.get(s["purchase_option"], s["purchase_option"])
        out.setdefault(label, {})[s["day"]] = float(s["usd"])
    return out


def bill_sources(scope: BillScope) -> list[SourceSummary]:
    """Every billing source, with what its lines in `scope` add up to."""
    sums = {
        s["source_id"]: s
        for s in billed_lines(scope)
        .order_by()
        .values("source_id")
        .annotate(usd=Sum("amount_usd"), newest=Max("day"))
    }
    return [
        SourceSummary(
            name=source.name,
            kind=source.get_kind_display(),
            last_pulled_at=source.last_pulled_at,
            last_error=source.last_error,
            amount_usd=float(sums[source.pk]["usd"]) if source.pk in sums else 0.0,
            newest_day=sums[source.pk]["newest"] if source.pk in sums else None,
        )
        for source in BillingSource.objects.all()
    ]
