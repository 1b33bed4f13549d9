"""`ballast` as the control plane runs it: the controller inside plans made at their cadence.

Two loops run a workload in production, and this replays both with their own code:

- **Plans.** Every `plan_every_s` (and when the controller asks for one) a day-ahead plan is
  made from what is known then: a quantile forecast of the next 24 hours from the load so far
  (`forecasting`, the scenario's model), the allocation problem over hourly intervals (as the
  plans app poses it), the optimizer's front
  (`optimization.pareto`), its cheapest, knee and safest points as envelopes with their
  ceilings widened by each margin (`policies.candidate.envelope_candidates`), each measured by
  replaying the controller inside it over the newest day (`simulation.measure`), and the
  candidate the plans app would propose: the cheapest that meets the SLA as replayed
  (`policies.candidate.recommend`). It is approved
  `approval_s` after it is made; from then it is the plan in force, hour by hour from its
  start, until a newer one is approved.
- **The controller.** Every step the per-step policy (`ballast_controller`, the code the live
  controller runs) decides unbounded and its decision is clamped into the plan in force's hour.
  When it wanted more than the hour allows, a new plan is asked for (at most one pending, at
  most one an hour, once there is history to forecast), as the live controller does. Where no
  approved plan covers the step the controller does not touch the fleet: it keeps what it
  last applied, as live targets are left alone without an applied plan.
- **Onboarding.** The replay starts where a new workload is handed to the controller: its
  onboarding plan (`onboarding_plan`, what the plans app proposes before there is history to
  forecast) is approved then, with the workload, so it is in force from the first step.

Limits, named so that nobody mistakes them for the world: approval is a fixed delay (two people
answering in `approval_s`), the load the SLA is promised at is the trace's peak (the SRE
declared it right), the replay serves the scenario's default variant throughout (a plan
is posed for that variant only), and the plans app's guardrails are not applied (a scenario has
none).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from forecasting.forecast import forecast_series
from optimization.pareto import plan_front
from optimization.planning import demand_from_forecast, peak_demand
from optimization.problem import (
    SLA,
    AllocationProblem,
    Constraints,
    DemandForecast,
    ModelVariant,
    Offer,
    ServerlessOffer,
    VariantProfile,
)
from policies import make_policy
from policies.base import Context, Decision, Observation
from policies.candidate import PlanCandidate, envelope_candidates, recommend
from policies.envelope import Bounds, Enveloped
from policies.forecasts import MAX_HISTORY_STEPS, MIN_HISTORY
from policies.insurance import insure_candidate
from policies.scenario import Scenario
from policies.serverless import duration_ms
from simulation.measure import CONTROLLER, MIN_REPLAY_S, measure_envelopes
from simulation.trace import Load

NAME = "ballast"
PLAN_EVERY_S = 12 * 3600  # a day-ahead plan twice a day: the next is approved before one ends
APPROVAL_S = 3600  # from proposal to the second approval
INTERVAL_S = 3600  # hourly envelopes, as the plans app makes them
HORIZON_INTERVALS = 24
REPLAY_S = 86_400  # each candidate is measured over the newest day (BALLAST_PLAN_REPLAY_HOURS)
LEVELS = (0.5, 0.9, 0.99)  # the plans app's forecast quantiles


@dataclass(frozen=True, slots=True)
class Plan:
    """One approved plan: its hourly envelope from `start` (a step), in force from `approved`."""

    made: int
    start: int
    approved: int
    hours: tuple[Bounds, ...]
    figures: dict[str, Any]  # the proposed candidate's planned and measured figures

    def bounds_at(self, t: int, step_s: int) -> Bounds | None:
        """The hour of step t, or None outside the plan's horizon."""
        index = (t - self.start) * step_s // INTERVAL_S
        return self.hours[index] if 0 <= index < len(self.hours) else None


class Deployed(Enveloped):
    """The controller inside plans made and approved at their cadence (module docstring)."""

    def __init__(
        self,
        ctx: Context,
        *,
        start_s: float,
        plan_every_s: int = PLAN_EVERY_S,
        approval_s: int = APPROVAL_S,
        onboarding: bool = True,
    ):
        super().__init__(make_policy(CONTROLLER, ctx), self._in_force, ctx.scenario)
        self.name = NAME
        self.batch_option = "planned"  # its nightly batch runs as the plans app plans it
        self.ctx = ctx
        self.start_s = start_s
        self.every = max(1, plan_every_s // ctx.step_s)
        self.approval = math.ceil(approval_s / ctx.step_s)
        self.retry = max(1, INTERVAL_S // ctx.step_s)
        self.plans: list[Plan] = []
        self.next_plan = MIN_HISTORY  # the first step with enough history to forecast
        self.failures: list[str] = []
        if onboarding:
            try:
                hours, figures = onboarding_plan(ctx.scenario, self.variant)
                self.plans.append(Plan(0, 0, 0, tuple(hours), figures))
            except ValueError as exc:  # no allocation serves the peak: held until a plan
                self.failures.append(f"onboarding: {exc}")
        self.last_ask = -self.retry
        self.applied: Decision | None = None
        self.held_steps = 0
        self.clamped_steps = 0

    def decide(self, obs: Observation) -> Decision:
        """The controller's decision inside the plan in force; the last applied one outside."""
        t = obs.t
        if t >= self.next_plan and not self._pending(t):
            self._plan(t, obs.history_rps)
        decision, clamped = self.step(obs)
        if clamped is None:
            self.held_steps += 1
            if self.applied is None:  # the fleet the replay starts with
                self.applied = decision
            return self.applied
        if clamped.over:
            self.clamped_steps += 1
            asked = t - self.last_ask < self.retry
            if t >= MIN_HISTORY and not self._pending(t) and not asked:
                self.last_ask = t
                self._plan(t, obs.history_rps)
        self.applied = clamped.decision
        return clamped.decision

    def _pending(self, t: int) -> bool:
        """A plan is made and not yet approved at step t."""
        return bool(self.plans) and self.plans[-1].approved > t

    def _in_force(self, t: int) -> Bounds | None:
        """The hour of the newest plan approved by step t (None: nothing approved covers t)."""
        for plan in reversed(self.plans):
            if plan.approved <= t:
                return plan.bounds_at(t, self.ctx.step_s)
        return None

    def _plan(self, t: int, history: np.ndarray) -> None:
        """Make a plan at step t from the load before it; without one, try again in an hour."""
        try:
            plan = make_plan(
                history[-MAX_HISTORY_STEPS:],
                self.ctx.scenario,
                self.variant,
                step_s=self.ctx.step_s,
                start_s=self.start_s + t * self.ctx.step_s,
                initial_replicas=sum(self.applied.desired.values()) if self.applied else 0,
                seed=self.ctx.seed,
            )
        except ValueError as exc:  # too little history, a flat one, an infeasible problem
            self.failures.append(f"step {t}: {exc}")
            self.next_plan = t + self.retry
            return
        hours, figures = plan
        self.plans.append(Plan(t, t, t + self.approval, tuple(hours), figures))
        self.next_plan = t + self.every


def make_plan(
    history: np.ndarray,
    scenario: Scenario,
    variant: str,
    *,
    step_s: int,
    start_s: float,
    initial_replicas: int,
    seed: int,
) -> tuple[list[Bounds], dict[str, Any]]:
    """The envelope the plans app would propose at `start_s` after `history`, and its figures.

    Raises:
        ValueError: the history cannot be forecast, or no allocation meets the problem.
    """
    steps = HORIZON_INTERVALS * INTERVAL_S // step_s
    forecast = forecast_series(
        history, step_s, steps, model=scenario.forecast_model, quantiles=LEVELS, seed=seed
    ).forecast
    demand = demand_from_forecast(
        {q: forecast.quantiles[q] for q in LEVELS},
        step_s=step_s,
        interval_s=INTERVAL_S,
        counts=False,
    )
    problem = plan_problem(scenario, variant, demand, initial_replicas)
    recent = history[-(REPLAY_S // step_s) :]
    replayable = len(recent) * step_s >= MIN_REPLAY_S
    options = insured(
        scenario, demand, envelope_candidates(problem, plan_front(problem, replayable=replayable))
    )
    if replayable:
        first = float((start_s - len(recent) * step_s) % 86_400)
        load = Load("recent", recent, first, step_s, step_s, math.inf)
        envelopes = [c.envelope for c in options]
        first_hour = int(start_s % 86_400 // 3600)
        measured = measure_envelopes(load, scenario, envelopes, first_hour_utc=first_hour)
        options = [replace(c, measured=m) for c, m in zip(options, measured, strict=True)]
    return _propose(problem, options)


def onboarding_plan(scenario: Scenario, variant: str) -> tuple[list[Bounds], dict[str, Any]]:
    """The plan a new workload starts with, approved when it is onboarded, and its figures.

    With no history to forecast, every hour's demand is the load the SLA is promised at (the
    scenario's peak: `optimization.planning.peak_demand`), and the candidates and the proposed
    one are the plans app's; with nothing to replay, the planned figures decide, so the
    roomiest of the candidates costing the least within the SLA is proposed.

    Raises:
        ValueError: no allocation serves the peak within the problem.
    """
    demand = peak_demand(scenario.peak_rps, HORIZON_INTERVALS)
    problem = plan_problem(scenario, variant, demand, 0)
    options = envelope_candidates(problem, plan_front(problem, replayable=False))
    return _propose(problem, insured(scenario, demand, options))


def insured(
    scenario: Scenario, demand: DemandForecast, options: Sequence[PlanCandidate]
) -> list[PlanCandidate]:
    """The candidates with the non-spot floor their spot insurance calls for.

    As the plans app raises them (`policies.insurance.insure_candidate`); a scenario has no
    guardrail against on-demand.
    """
    return [insure_candidate(scenario, demand, c, floor_allowed=True)[0] for c in options]


def _propose(
    problem: AllocationProblem, options: Sequence[PlanCandidate]
) -> tuple[list[Bounds], dict[str, Any]]:
    """The candidate the plans app would propose (`recommend`): its hours and figures."""
    chosen = options[recommend(options, range(len(options)), problem.sla.allowed_late)]
    return list(chosen.envelope.hours), {
        "candidates": len(options),
        "cost_per_day_usd": chosen.cost_per_day_usd,
        "demand_quantile": chosen.demand_quantile,
        "margin": chosen.margin,
        "measured": chosen.measured,
    }


def plan_problem(
    scenario: Scenario, variant: str, demand: DemandForecast, initial_replicas: int
) -> AllocationProblem:
    """The plans app's allocation problem, posed in the scenario's world.

    Its online types on demand and on spot, the served variant's profiles that can meet the SLA
    and functions for the rest; a scenario has no guardrail, so no non-spot base is required and
    on-demand replicas are planned only where the optimizer finds they pay.

    Raises:
        ValueError: no profile of the variant can meet the SLA.
    """
    sla = SLA(scenario.latency_target_ms, scenario.latency_percentile)
    spec = scenario.variant(variant)
    profiles = tuple(
        VariantProfile(p.instance_type, p.capacity_rps, p.service_ms)
        for p in spec.profiles
        if p.instance_type in scenario.online_types and sla.reachable(p.service_ms)
    )
    if not profiles:
        raise ValueError(f"no profile of {variant} can meet the SLA")
    offers = tuple(
        Offer(
            name=f"{p.instance_type}/{option}",
            instance_type=p.instance_type,
            purchase_option=option,
            price_per_hour_usd=scenario.instance(p.instance_type).price_per_hour_usd(option),
            boot_delay_s=scenario.instance(p.instance_type).boot_s,
            interruption_rate_per_hour=(
                scenario.instance(p.instance_type).spot_hazard_per_hour if option == "spot" else 0
            ),
        )
        for p in profiles
        for option in ("on_demand", "spot")
    )
    fn = scenario.serverless
    return AllocationProblem(
        name=scenario.name,
        interval_s=INTERVAL_S,
        demand=demand,
        offers=offers,
        variants=(ModelVariant(spec.name, spec.accuracy, profiles),),
        sla=sla,
        constraints=Constraints(min_accuracy=scenario.min_accuracy),
        serverless=ServerlessOffer(
            name="functions",
            price_per_request_usd=fn.per_request_usd,
            price_per_gb_s_usd=fn.per_gb_s_usd,
            memory_mb=fn.memory_mb,
            duration_ms=duration_ms(spec, fn.memory_mb),
            cold_start_s=fn.cold_start_s,
            max_concurrency=fn.max_concurrency,
        ),
        initial_replicas=initial_replicas,
    )
