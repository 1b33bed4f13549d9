"""Guardrails on scaling plans: the limits a team sets, checked on plain data.

A plan is a schedule of replicas per interval, each on an offer with a purchase option, with an
expected cost per day. The rules: a budget per day in dollars, a largest change in replicas
between two consecutive intervals (the first counted from the live allocation), a minimum number
of replicas in every interval, the purchase options allowed, and change windows (UTC) outside
which nothing is approved or applied. Every rule is optional; `check_plan` reports each one that
is set, passed or broken, with the numbers that decided it.

`auto_approvable` is the rule for small changes that may skip a human (off unless a team turns it
on): the change in cost per day is under a share of the current cost and under an absolute amount.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, time
from typing import Any

from optimization.purchase import PURCHASE_OPTIONS

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DAY_MINUTES = 24 * 60
WEEK_MINUTES = 7 * DAY_MINUTES


@dataclass(frozen=True, slots=True)
class ChangeWindow:
    """Days of the week (0 = Monday) and a UTC time range; end <= start wraps past midnight."""

    days: tuple[int, ...]
    start: time
    end: time

    def contains(self, at: datetime) -> bool:
        """Whether `at` (an aware datetime) falls inside the window."""
        moment = at.astimezone(UTC)
        day, clock = moment.weekday(), time(moment.hour, moment.minute)
        if self.start < self.end:
            return day in self.days and self.start <= clock < self.end
        # Wraps past midnight: the part after midnight belongs to the previous day's window.
        return (day in self.days and clock >= self.start) or (
            (day - 1) % 7 in self.days and clock < self.end
        )

    def minutes_of_week(self) -> set[int]:
        """The minutes of the week (0 = Monday 00:00 UTC) the window covers."""
        start = self.start.hour * 60 + self.start.minute
        end = self.end.hour * 60 + self.end.minute
        length = end - start if end > start else end - start + DAY_MINUTES
        return {
            (day * DAY_MINUTES + start + m) % WEEK_MINUTES
            for day in self.days
            for m in range(length)
        }

    def describe(self) -> str:
        """'mon,tue 09:00-17:00 UTC'."""
        days = ",".join(DAY_NAMES[d] for d in self.days)
        return f"{days} {self.start:%H:%M}-{self.end:%H:%M} UTC"


def parse_windows(raw: Any) -> tuple[ChangeWindow, ...]:
    """Windows from JSON `[{"days": ["mon", ...], "start": "09:00", "end": "17:00"}]`.

    Raises:
        ValueError: naming the window and field, e.g. `change_windows[1].start`.
    """
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValueError("change_windows must be a list of {days, start, end} objects")
    windows = []
    for i, item in enumerate(raw):
        where = f"change_windows[{i}]"
        if not isinstance(item, Mapping):
            raise ValueError(f"{where} must be an object with days, start and end")
        unknown = set(item) - {"days", "start", "end"}
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
        days = item.get("days")
        if not isinstance(days, list) or not days or any(d not in DAY_NAMES for d in days):
            raise ValueError(f"{where}.days must be a non-empty list of {', '.join(DAY_NAMES)}")
        bounds = []
        for key in ("start", "end"):
            value = item.get(key)
            match = HHMM.match(value) if isinstance(value, str) else None
            if not match:
                raise ValueError(f"{where}.{key} must be a UTC time as HH:MM, got {value!r}")
            bounds.append(time(int(match[1]), int(match[2])))
        if bounds[0] == bounds[1]:
            raise ValueError(f"{where}: start and end must differ")
        windows.append(ChangeWindow(tuple(sorted(DAY_NAMES.index(d) for d in days)), *bounds))
    return tuple(windows)


@dataclass(frozen=True, slots=True)
class Guardrails:
    """A team's or workload's limits; None (or empty) means the rule is not set."""

    budget_per_day_usd: float | None = None
    max_scale_step: int | None = None
    min_replicas: int | None = None
    min_non_spot_replicas: int | None = None  # a non-spot base every interval keeps
    allowed_purchase_options: tuple[str, ...] | None = None
    change_windows: tuple[ChangeWindow, ...] = ()
    auto_approve: bool = False
    auto_approve_max_change_pct: float = 0.0
    auto_approve_max_usd_per_day: float = 0.0

    def __post_init__(self) -> None:
        options = self.allowed_purchase_options
        if options is not None and (not options or set(options) - set(PURCHASE_OPTIONS)):
            raise ValueError(
                f"allowed_purchase_options must be a non-empty subset of {PURCHASE_OPTIONS}"
            )

    def merged_over(self, base: Guardrails) -> Guardrails:
        """These rules where set, `base`'s elsewhere (a workload's rules over its team's)."""
        values = {}
        for name, value in asdict(self).items():
            unset = value is None or value == () or (name == "auto_approve" and value is False)
            values[name] = getattr(base, name) if unset else getattr(self, name)
        return Guardrails(**values)


@dataclass(frozen=True, slots=True)
class PlanShape:
    """What the guardrails look at in a plan."""

    replicas: Sequence[int]  # total VM replicas per interval
    purchase_options: Iterable[str]  # every option the schedule uses
    cost_per_day_usd: float
    current_replicas: int  # live now, before the plan's first interval
    sla_risk: float = 0.0  # expected share of requests over the latency target
    sla_allowed_late: float | None = None  # what the SLA's percentile allows; None: no SLA
    late_what: str = "of requests expected over the latency target"  # what sla_risk counts


@dataclass(frozen=True, slots=True)
class Check:
    """One rule's verdict on one plan."""

    rule: str
    ok: bool
    detail: str
    blocking: bool = True  # False: shown (and never "passes" when broken) but not refused

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"rule": self.rule, "ok": self.ok, "detail": self.detail, "blocking": self.blocking}


def check_plan(shape: PlanShape, rules: Guardrails) -> list[Check]:
    """Every set rule except change windows (see `check_window`), passed or broken.

    The SLA is checked whenever the plan has one, whatever the rules: an SLA holds only when
    its percentile does (p99 under 100 ms allows at most 1 % of requests over 100 ms), and a
    plan that breaks it never reads as passing. The check does not block yet: the risk it reads
    is the replay's (or the allocation model's), whose spot reclaims are still independent per
    replica (no pool is reclaimed at once), kinder than the world.
    """
    checks = []
    if shape.sla_allowed_late is not None:
        checks.append(
            Check(
                "sla",
                shape.sla_risk <= shape.sla_allowed_late + 1e-12,
                f"{shape.sla_risk:.2%} {shape.late_what}; the SLA "
                f"allows {shape.sla_allowed_late:.2%}",
                blocking=False,
            )
        )
    if rules.budget_per_day_usd is not None:
        ok = shape.cost_per_day_usd <= rules.budget_per_day_usd + 1e-9
        checks.append(
            Check(
                "budget_per_day_usd",
                ok,
                f"${shape.cost_per_day_usd:.2f}/day against a budget of "
                f"${rules.budget_per_day_usd:.2f}/day",
            )
        )
    if rules.max_scale_step is not None:
        path = [shape.current_replicas, *shape.replicas]
        step = max((abs(b - a) for a, b in zip(path, path[1:], strict=False)), default=0)
        checks.append(
            Check(
                "max_scale_step",
                step <= rules.max_scale_step,
                f"largest change between intervals {step} replicas, limit {rules.max_scale_step}",
            )
        )
    if rules.min_replicas is not None:
        low = min(shape.replicas, default=0)
        checks.append(
            Check(
                "min_replicas",
                low >= rules.min_replicas,
                f"fewest replicas in an interval {low}, minimum {rules.min_replicas}",
            )
        )
    if rules.allowed_purchase_options is not None:
        used = sorted(set(shape.purchase_options))
        extra = sorted(set(used) - set(rules.allowed_purchase_options))
        checks.append(
            Check(
                "allowed_purchase_options",
                not extra,
                f"uses {', '.join(used) or 'nothing'}; allowed "
                f"{', '.join(rules.allowed_purchase_options)}"
                + (f"; not allowed: {', '.join(extra)}" if extra else ""),
            )
        )
    return checks


def check_window(rules: Guardrails, at: datetime) -> Check | None:
    """Whether `at` falls in a change window; None when the rules set no window."""
    if not rules.change_windows:
        return None
    inside = any(w.contains(at) for w in rules.change_windows)
    windows = "; ".join(w.describe() for w in rules.change_windows)
    where = "inside" if inside else "outside"
    return Check("change_windows", inside, f"{at:%a %H:%M} UTC is {where} {windows}")


def auto_approvable(
    rules: Guardrails, *, current_cost_per_day_usd: float, delta_cost_per_day_usd: float
) -> tuple[bool, str]:
    """Whether the small-change rule approves a plan without a human, and why (or why not)."""
    if not rules.auto_approve:
        return False, "auto-approve is off"
    change = abs(delta_cost_per_day_usd)
    if current_cost_per_day_usd <= 0:
        return False, "nothing runs now, so no change counts as small"
    pct = 100 * change / current_cost_per_day_usd
    ok = pct < rules.auto_approve_max_change_pct and change < rules.auto_approve_max_usd_per_day
    verdict = "under" if ok else "not under"
    return ok, (
        f"a change of ${change:.2f}/day ({pct:.1f} %) is {verdict} the auto-approve limits "
        f"of {rules.auto_approve_max_change_pct:g} % and ${rules.auto_approve_max_usd_per_day:.2f}"
        "/day"
    )


def open_minutes(rules: Guardrails) -> set[int]:
    """The minutes of the week the rules' change windows open (none set: none listed here)."""
    return set().union(*(window.minutes_of_week() for window in rules.change_windows))


def loosened_rules(before: Guardrails, after: Guardrails) -> list[str]:
    """The rules `after` enforces less strictly than `before`, by name; [] when none is looser.

    A limit (budget, scale step, auto-approve's limits) loosens when it goes up or is unset; a
    minimum when it goes down or is unset; purchase options when any is added or the list is
    unset; auto-approve when it is switched on; change windows when the new ones open any minute
    of the week the old ones kept closed (or none are left, which opens every minute). Anything
    else, including an unchanged rule, tightens or keeps it.
    """

    def higher_is_looser(old: float | None, new: float | None) -> bool:
        return old is not None and (new is None or new > old)

    def lower_is_looser(old: float | None, new: float | None) -> bool:
        return (new or 0) < (old or 0)

    looser = {
        "budget_per_day_usd": higher_is_looser(before.budget_per_day_usd, after.budget_per_day_usd),
        "max_scale_step": higher_is_looser(before.max_scale_step, after.max_scale_step),
        "min_replicas": lower_is_looser(before.min_replicas, after.min_replicas),
        "min_non_spot_replicas": lower_is_looser(
            before.min_non_spot_replicas, after.min_non_spot_replicas
        ),
        "allowed_purchase_options": before.allowed_purchase_options is not None
        and not set(after.allowed_purchase_options or PURCHASE_OPTIONS)
        <= set(before.allowed_purchase_options),
        "change_windows": bool(before.change_windows)
        and not (after.change_windows and open_minutes(after) <= open_minutes(before)),
        "auto_approve": after.auto_approve and not before.auto_approve,
        "auto_approve_max_change_pct": after.auto_approve_max_change_pct
        > before.auto_approve_max_change_pct,
        "auto_approve_max_usd_per_day": after.auto_approve_max_usd_per_day
        > before.auto_approve_max_usd_per_day,
    }
    return [name for name, is_looser in looser.items() if is_looser]
