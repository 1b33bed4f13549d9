"""What the FinOps overview shows: billed, planned and forecast spend per day and workload.

Three figures, never mixed:

- billed: what the bill says (`apps.billing.billed`), per usage day; unallocated (untagged)
  lines are their own part, for FinOps only;
- planned: estimated from the plans in force (applied), `apps.plans.spend.planned_days`, up
  to now; proposals nobody approved are never spend;
- forecast: from now to the range's end, each workload's plan in force now carried forward
  (`apps.plans.spend.in_force_now`); what the pending plans would change is said apart.

`read_overview` does the reads (each summed in the database), `combine_days` the arithmetic on
plain data, so the numbers are tested without a page.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from apps.accounts.models import Team
from apps.accounts.roles import reads_all_teams
from apps.billing.billed import BilledDay, BillScope, SourceSummary, bill_sources, billed_by_option
from apps.billing.billed import billed_days as read_billed_days
from apps.plans.spend import (
    DAY_S,
    InForce,
    Pending,
    day_start,
    in_force_now,
    pending_plans,
    planned_days,
)
from apps.workloads.models import Workload

UNALLOCATED = "(unallocated)"


@dataclass(frozen=True, slots=True)
class SpendRow:
    """One day of one workload (or of unallocated spend): the CSV's rows, the charts' points."""

    day: date
    team: str
    workload: str  # "ranker", or UNALLOCATED
    workload_id: int | None
    billed_usd: float = 0.0
    planned_usd: float = 0.0
    forecast_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class WorkloadSpend:
    """A workload's (or the unallocated part's) totals over the range, for the table."""

    workload_id: int | None
    team: str
    workload: str
    billed_usd: float
    planned_usd: float
    forecast_usd: float
    in_force: InForce | None = None
    pending: Pending | None = None


@dataclass
class Overview:
    """Everything the page and its CSV show for one user and one set of filters."""

    days: list[date]
    now: datetime
    rows: list[SpendRow]
    workloads: list[WorkloadSpend]
    sources: list[SourceSummary]
    billed_by_team: dict[str, list[float]]
    billed_by_option: dict[str, list[float]]
    shows_unallocated: bool
    reads_all_teams: bool  # FinOps: sees unallocated lines and the sources' pull errors
    pending_forecast_usd: float | None  # the forecast if the pending plans were applied
    ahead_days: float  # how much of the range is still ahead of now, in days
    totals: dict[str, float] = field(default_factory=dict)

    @property
    def unallocated_usd(self) -> float:
        """Billed spend no workload's tag claims."""
        return sum(r.billed_usd for r in self.rows if r.workload_id is None)

    def per_day(self, figure: str) -> list[float]:
        """`billed`, `planned` or `forecast` USD per day of `days`."""
        index = {day: i for i, day in enumerate(self.days)}
        out = [0.0] * len(self.days)
        for row in self.rows:
            out[index[row.day]] += getattr(row, f"{figure}_usd")
        return out


def forecast_share(day: date, now: datetime) -> float:
    """The share of a UTC day still ahead of `now` (1 for future days, 0 for past ones)."""
    start = day_start(day)
    ahead_s = (start + timedelta(days=1) - max(start, now)).total_seconds()
    return min(1.0, max(0.0, ahead_s / DAY_S))


def combine_days(
    days: list[date],
    now: datetime,
    *,
    billed: Iterable[BilledDay],
    planned: Mapping[tuple[int, date], float],
    forecast_per_day: Mapping[int, float],
    labels: Mapping[int, tuple[str, str]],
    team_slugs: Mapping[int, str],
) -> list[SpendRow]:
    """Rows per day and workload with billed, planned and forecast USD; all-zero rows left out.

    Args:
        days: the range's UTC days, oldest first.
        now: where planned spend ends and the forecast starts.
        billed: billed USD per day and workload (workload None: unallocated).
        planned: USD per (workload id, day), estimated from applied plans.
        forecast_per_day: USD per day of the plan in force now, per workload id.
        labels: workload id -> (team slug, workload name).
        team_slugs: team id -> slug, for unallocated lines.
    """
    cells: dict[tuple[date, int | None, str], list[float]] = {}

    def cell(day: date, workload_id: int | None, team: str) -> list[float]:
        return cells.setdefault((day, workload_id, team), [0.0, 0.0, 0.0])

    for line in billed:
        team = labels[line.workload_id][0] if line.workload_id in labels else ""
        if line.workload_id is None:
            team = team_slugs.get(line.team_id, "") if line.team_id is not None else ""
        cell(line.day, line.workload_id, team)[0] += line.amount_usd
    for (workload_id, day), usd in planned.items():
        cell(day, workload_id, labels[workload_id][0])[1] += usd
    for day in days:
        if share := forecast_share(day, now):
            for workload_id, per_day in forecast_per_day.items():
                cell(day, workload_id, labels[workload_id][0])[2] += per_day * share
    rows = [
        SpendRow(day, team, labels[wid][1] if wid is not None else UNALLOCATED, wid, *usd)
        for (day, wid, team), usd in cells.items()
        if any(round(v, 6) for v in usd)
    ]
    return sorted(rows, key=lambda r: (r.day, r.team, r.workload))


def read_overview(
    user,
    *,
    first: date,
    last: date,
    team: Team | None = None,
    workload: Workload | None = None,
    now: datetime,
) -> Overview:
    """The overview of the workloads `user` may see, for days `first`..`last` and the filters."""
    workloads = Workload.objects.visible_to(user).select_related("team")
    if team is not None:
        workloads = workloads.filter(team=team)
    if workload is not None:
        workloads = workloads.filter(pk=workload.pk)
    labels = {w.pk: (w.team.slug, w.name) for w in workloads}
    ids = list(labels)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    scope = BillScope(
        user, first, last, team.pk if team else None, workload.pk if workload else None
    )
    billed = [b for b in read_billed_days(scope) if b.workload_id is None or b.workload_id in ids]
    in_force = in_force_now(ids, now)
    pending = pending_plans(ids, now)
    rows = combine_days(
        days,
        now,
        billed=billed,
        planned=planned_days(ids, first, last, now),
        forecast_per_day={wid: f.cost_per_day_usd for wid, f in in_force.items()},
        labels=labels,
        team_slugs=dict(Team.objects.values_list("pk", "slug")),
    )
    ahead = sum(forecast_share(day, now) for day in days)
    overview = Overview(
        days=days,
        now=now,
        rows=rows,
        workloads=_workload_totals(rows, labels, in_force, pending),
        sources=bill_sources(scope),
        billed_by_team=_by_team(rows, days),
        billed_by_option=_on_days(billed_by_option(scope), days),
        shows_unallocated=reads_all_teams(user) and workload is None,
        reads_all_teams=reads_all_teams(user),
        pending_forecast_usd=_if_applied(in_force, pending, ahead) if pending and ahead else None,
        ahead_days=ahead,
    )
    overview.totals = {k: sum(overview.per_day(k)) for k in ("billed", "planned", "forecast")}
    return overview


def _workload_totals(
    rows: list[SpendRow],
    labels: Mapping[int, tuple[str, str]],
    in_force: Mapping[int, InForce],
    pending: Mapping[int, Pending],
) -> list[WorkloadSpend]:
    sums: dict[tuple[int | None, str], list[float]] = {
        (wid, t): [0.0] * 3 for wid, (t, _) in labels.items()
    }
    for r in rows:
        usd = sums.setdefault((r.workload_id, r.team), [0.0] * 3)
        usd[0] += r.billed_usd
        usd[1] += r.planned_usd
        usd[2] += r.forecast_usd
    totals = [
        WorkloadSpend(
            wid,
            team,
            labels[wid][1] if wid is not None else UNALLOCATED,
            *usd,
            in_force=in_force.get(wid) if wid is not None else None,
            pending=pending.get(wid) if wid is not None else None,
        )
        for (wid, team), usd in sums.items()
    ]
    return sorted(totals, key=lambda w: (w.workload_id is None, w.team, w.workload))


def _by_team(rows: list[SpendRow], days: list[date]) -> dict[str, list[float]]:
    """Billed USD per team per day; unallocated lines as their own group."""
    index = {day: i for i, day in enumerate(days)}
    out: dict[str, list[float]] = {}
    for r in rows:
        if r.billed_usd:
            group = r.team if r.workload_id is not None else f"unallocated (untagged) {r.team}"
            out.setdefault(group.strip(), [0.0] * len(days))[index[r.day]] += r.billed_usd
    return out


def _on_days(
    series: Mapping[str, Mapping[date, float]], days: list[date]
) -> dict[str, list[float]]:
    return {label: [by_day.get(day, 0.0) for day in days] for label, by_day in series.items()}


def _if_applied(
    in_force: Mapping[int, InForce], pending: Mapping[int, Pending], ahead_days: float
) -> float:
    """The forecast over the same days if every pending plan were applied now."""
    per_day = {wid: f.cost_per_day_usd for wid, f in in_force.items()}
    per_day.update({wid: p.cost_per_day_usd for wid, p in pending.items()})
    return sum(per_day.values()) * ahead_days


CSV_COLUMNS = ("day", "team", "workload", "billed_usd", "planned_usd", "forecast_usd")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """A text cell a spreadsheet will not run: one starting like a formula gets a `'` first."""
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def csv_lines(rows: Iterable[SpendRow]) -> Iterable[list[str]]:
    """The CSV export: a header, then one line per day and workload as the page shows them.

    Amounts are written by us as plain numbers (negative ones are credits), so only the text
    cells, which come from the bill's tags and the users' names, are made formula-safe.
    """
    yield list(CSV_COLUMNS)
    for r in rows:
        usd = (f"{v:.2f}" for v in (r.billed_usd, r.planned_usd, r.forecast_usd))
        yield [r.day.isoformat(), csv_cell(r.team), csv_cell(r.workload), *usd]
