"""A plan's candidates, typed: what a plan proposes, stores, shows, and two people approve.

A candidate is one envelope the controller would act inside (`policies.envelope.Envelope`),
with the schedule it was planned from, what the planner expects it to cost and how often to be
late, and, once replayed, what the replay measured. Online candidates come from the Pareto
front (`envelope_candidates`), batch ones from the batch planner (`batch_candidates`);
`recommend` picks the one a plan proposes. The control plane stores candidates as JSON
(`PlanCandidate.to_json`) and rebuilds them (`PlanCandidate.from_json`) at the database
column; everything between works on these dataclasses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from optimization.batch import BatchPlan
from optimization.pareto import ParetoPoint, knee_point
from optimization.planning import candidates
from optimization.problem import AllocationProblem, Offer
from optimization.solution import Placement, Schedule, schedule_from_json, schedule_json
from policies.envelope import Envelope, envelope_hours, main_variant

# What a candidate's ceilings may add to its planned replicas (and spend): the controller sizes
# each step for the load it sees, which an hourly forecast quantile does not bound.
MARGINS = (1.0, 2.0, 3.0)
COST_BAND = 0.02  # candidates this close to the cheapest count as costing the same


@dataclass(frozen=True)
class PlanCandidate:
    """One candidate of a plan: its envelope, its schedule, its planned and replayed figures.

    `measured` holds the replay's figures (`simulation.measure.measure_envelopes` for online,
    `simulation.batch.replay_schedule` for batch: at least `cost_per_day_usd` and
    `sla_violation_rate`), None until replayed or where no replay could run (`measured_note`
    says why).
    """

    envelope: Envelope
    schedule: Schedule = ()
    kind: str = "online"  # online | batch
    method: str = "exact"  # the solver: exact (MILP), hybrid (GA-PSO) or batch
    demand_quantile: float | None = None  # the forecast quantile planned for (online)
    cost_usd: float = 0.0  # over the horizon
    cost_per_day_usd: float = 0.0
    sla_risk: float = 0.0  # the planner's expected share of requests (runs) late
    meets_sla: bool = True
    serverless_rps: tuple[float, ...] = ()
    replicas: tuple[int, ...] = ()  # VM replicas per interval
    purchase_options: tuple[str, ...] = ()
    margin: float = 1.0  # how much the ceilings were widened over the schedule
    work_margin: float | None = None  # batch: spare work planned over the items
    expected_items: float | None = None  # batch
    spot_until_interval: int | None = None  # batch: the last interval spot may run
    measured: Mapping[str, Any] | None = field(default=None, compare=False)
    measured_note: str = ""

    @property
    def judged(self) -> tuple[float, float]:
        """(cost per day, share late): the replay's where measured, else the planner's."""
        if self.measured:
            return self.measured["cost_per_day_usd"], self.measured["sla_violation_rate"]
        return self.cost_per_day_usd, self.sla_risk

    def first_interval(self) -> dict[str, int]:
        """Offer name -> replicas in the first interval: what an apply sets first."""
        return {p.offer: p.count for p in (self.schedule[0] if self.schedule else ())}

    def pools(self, option_of: Mapping[str, str]) -> list[dict[str, int]]:
        """Per interval, purchase option -> replicas (`option_of`: offer name -> option)."""
        out = []
        for row in self.schedule:
            pool: dict[str, int] = {}
            for p in row:
                pool[option_of[p.offer]] = pool.get(option_of[p.offer], 0) + p.count
            out.append(pool)
        return out

    def to_json(self) -> dict[str, Any]:
        """As a plan's `front` stores it and the API shows it; batch fields only on batch."""
        data: dict[str, Any] = {
            "kind": self.kind,
            "method": self.method,
            "demand_quantile": self.demand_quantile,
            "cost_usd": self.cost_usd,
            "cost_per_day_usd": self.cost_per_day_usd,
            "sla_risk": self.sla_risk,
            "meets_sla": self.meets_sla,
            "schedule": schedule_json(self.schedule),
            "serverless_rps": list(self.serverless_rps),
            "replicas": list(self.replicas),
            "purchase_options": list(self.purchase_options),
            "margin": self.margin,
            "envelope": self.envelope.to_json(),
            "measured": dict(self.measured) if self.measured is not None else None,
            "measured_note": self.measured_note,
        }
        if self.kind == "batch":
            data["work_margin"] = self.work_margin
            data["expected_items"] = self.expected_items
            data["spot_until_interval"] = self.spot_until_interval
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlanCandidate:
        """A candidate stored by `to_json`.

        A candidate stored before envelopes were has its schedule read as one, unpriced (no
        spend ceiling), as it was applied then.
        """
        schedule = schedule_from_json(data.get("schedule", ()))
        envelope = (
            Envelope.from_json(data["envelope"])
            if data.get("envelope")
            else Envelope(main_variant(schedule), tuple(envelope_hours(schedule)))
        )
        return cls(
            envelope=envelope,
            schedule=schedule,
            kind=data.get("kind", "online"),
            method=data.get("method", "exact"),
            demand_quantile=data.get("demand_quantile"),
            cost_usd=float(data.get("cost_usd", 0.0)),
            cost_per_day_usd=float(data.get("cost_per_day_usd", 0.0)),
            sla_risk=float(data.get("sla_risk", 0.0)),
            meets_sla=bool(data.get("meets_sla", True)),
            serverless_rps=tuple(float(v) for v in data.get("serverless_rps", ())),
            replicas=tuple(int(n) for n in data.get("replicas", ())),
            purchase_options=tuple(data.get("purchase_options", ())),
            margin=float(data.get("margin", 1.0)),
            work_margin=data.get("work_margin"),
            expected_items=data.get("expected_items"),
            spot_until_interval=data.get("spot_until_interval"),
            measured=data.get("measured"),
            measured_note=data.get("measured_note", ""),
        )


def envelope_candidates(
    problem: AllocationProblem,
    front: Sequence[ParetoPoint],
    margins: Sequence[float] = MARGINS,
) -> list[PlanCandidate]:
    """A plan's candidates: the front's cheapest, knee and safest points, each as envelopes.

    Each point's schedule (`optimization.planning.candidates`) is one envelope per margin: its
    ceilings widened by the margin (`policies.envelope.widen`), its floor and options as
    planned; which one pays is for the replay to say (`simulation.measure`).
    """
    options = candidates(problem, front)
    picks = sorted({0, front.index(knee_point(front)), len(front) - 1})
    prices = {offer.name: offer.price_per_hour_usd for offer in problem.offers}
    out = []
    for i in picks:
        point = options[i]
        planned = Envelope(
            main_variant(point.schedule), tuple(envelope_hours(point.schedule, prices))
        )
        for margin in margins:
            out.append(
                PlanCandidate(
                    envelope=planned.widened(margin),
                    schedule=point.schedule,
                    method=point.method,
                    demand_quantile=point.demand_quantile,
                    cost_usd=point.cost_usd,
                    cost_per_day_usd=point.cost_per_day_usd,
                    sla_risk=point.sla_risk,
                    meets_sla=point.meets_sla,
                    serverless_rps=point.serverless_rps,
                    replicas=point.replicas,
                    purchase_options=point.purchase_options,
                    margin=margin,
                )
            )
    return out


def batch_candidates(
    front: Sequence[tuple[str, float, BatchPlan]], offers: Sequence[Offer]
) -> list[PlanCandidate]:
    """A batch plan's candidates (`optimization.batch.batch_front`).

    Each candidate runs one variant on its schedule: per interval, the replicas per offer. Its
    envelope is the schedule itself (ceiling and non-spot floor as planned, the spend at the
    planned prices), so the controller runs exactly what was approved. `margin` is 1 (the
    ceilings are not widened); `work_margin` is the spare work planned over the items. Its
    risk before the replay is the model's: none, since the expected items cover the job.
    """
    prices = {o.name: o.price_per_hour_usd for o in offers}
    option_of = {o.name: o.purchase_option for o in offers}
    out = []
    for variant, work_margin, plan in front:
        schedule: Schedule = tuple(
            tuple(
                Placement(name, variant, int(n))
                for name, n in zip(plan.offer_names, row, strict=True)
                if n > 0
            )
            for row in plan.counts
        )
        out.append(
            PlanCandidate(
                envelope=Envelope(variant, tuple(envelope_hours(schedule, prices))),
                schedule=schedule,
                kind="batch",
                method="batch",
                cost_usd=round(plan.cost_usd, 6),
                cost_per_day_usd=round(plan.cost_usd, 6),  # one run a day
                serverless_rps=(0.0,) * len(schedule),
                replicas=tuple(sum(p.count for p in row) for row in schedule),
                purchase_options=tuple(sorted({option_of[p.offer] for r in schedule for p in r})),
                work_margin=work_margin,
                expected_items=round(plan.expected_items, 3),
                spot_until_interval=plan.spot_allowed_until_interval,
            )
        )
    return out


def recommend(
    candidates: Sequence[PlanCandidate], passing: Iterable[int], allowed_late: float
) -> int:
    """The index of the candidate a plan proposes: the cheapest that meets its SLA, roomiest.

    Cost and lateness are the replay's where a candidate was measured, else the allocation
    model's (`PlanCandidate.judged`). Of the candidates that pass the guardrails (`passing`),
    those within `allowed_late` (when none is, the least late, within a tenth of it) are kept;
    of those costing within `COST_BAND` of the cheapest, the one with the widest ceilings
    (`margin`) and then the cheapest. A ceiling that did not bind in the replay costs nothing
    there and keeps the controller free tomorrow, when the load need not repeat today's.

    Raises:
        ValueError: `passing` names no candidate.
    """
    passing = list(passing)
    if not passing:
        raise ValueError("passing must name at least one candidate")
    kept = [i for i in passing if candidates[i].judged[1] <= allowed_late + 1e-12]
    if not kept:
        least = min(candidates[i].judged[1] for i in passing)
        kept = [i for i in passing if candidates[i].judged[1] <= least * 1.1 + 1e-12]
    cheapest = min(candidates[i].judged[0] for i in kept)
    near = [i for i in kept if candidates[i].judged[0] <= cheapest * (1 + COST_BAND) + 1e-9]
    return min(near, key=lambda i: (-candidates[i].margin, candidates[i].judged[0], i))
