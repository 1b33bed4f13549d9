"""Reads what a plan needs from the database and hands it to optimization/ as plain data.

Conventions:
- The planned series (default "requests") holds request counts per observation step, as the
  trace importer stores them; demand is those counts over the step, in requests per second.
- Offers are the in-force on-demand and spot prices of the instance types the workload's
  variants have capacity profiles for, in one region. Reserved capacity enters a plan only once
  commitments are recorded, which Ballast does not do yet.
- Variants under the SLA's `min_accuracy` are left out, and so are profiles on which no capacity
  could meet the latency SLA (a request's own service outlasts the target more often than the
  percentile allows): a plan is never built on capacity that breaks its SLA by construction.
- A batch workload's plan is for its next run: the SLA's `items_per_run` inside its window, on
  spot with checkpoints (on-demand where a reclaim could no longer be recovered before the
  deadline) or on-demand alone (`optimization.batch`).
- Online workloads keep the non-spot base their guardrail requires (`min_non_spot_replicas`)
  when on-demand is allowed, and more on-demand replicas where the optimizer finds they pay;
  functions take what the VMs do not when a serverless offer exists.
- The live state is what the last applied plan set (priced as the current cost) and what each
  deployment target reports through its actuator; its fingerprint is what the apply compares
  against, so that a plan made against an older state, or a target changed by someone else
  since, is refused as stale.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings

from actuators.base import ActuatorError
from apps.actuation.registry import actuator_for
from apps.catalog.models import Offer as CatalogOffer
from apps.catalog.models import PurchaseOption
from apps.catalog.models import ServerlessOffer as CatalogServerless
from apps.plans.models import Guardrail, PlanStatus, ScalingPlan, frozen_target
from apps.workloads.models import Workload
from optimization.batch import BatchJob
from optimization.guardrails import Guardrails, parse_windows
from optimization.problem import (
    CPU_BOOT_S,
    GPU_BOOT_S,
    PURCHASE_OPTIONS,
    SLA,
    SPOT_HAZARD_PER_HOUR,
    AllocationProblem,
    Constraints,
    DemandForecast,
    ModelVariant,
    Offer,
    ServerlessOffer,
    VariantProfile,
)

PLANNED_OPTIONS = {PurchaseOption.ON_DEMAND: "on_demand", PurchaseOption.SPOT: "spot"}


class PlanningError(ValueError):
    """The workload lacks something a plan needs; the message says what to add."""


def guardrails_for(workload: Workload) -> Guardrails:
    """The workload's rules over its team's (either may be missing)."""
    rows = {
        "workload": Guardrail.objects.filter(workload=workload).first(),
        "team": Guardrail.objects.filter(team_id=workload.team_id).first(),
    }
    team = to_guardrails(rows["team"]) if rows["team"] else Guardrails()
    return to_guardrails(rows["workload"]).merged_over(team) if rows["workload"] else team


def to_guardrails(row: Guardrail) -> Guardrails:
    """The library's view of one Guardrail row."""
    options = row.allowed_purchase_options
    return Guardrails(
        budget_per_day_usd=row.budget_per_day_usd,
        max_scale_step=row.max_scale_step,
        min_replicas=row.min_replicas,
        min_non_spot_replicas=row.min_non_spot_replicas,
        allowed_purchase_options=tuple(options) if options is not None else None,
        change_windows=parse_windows(row.change_windows),
        auto_approve=row.auto_approve,
        # Bounded by the operator's ceilings, even for a rule set before they were lowered.
        auto_approve_max_change_pct=min(
            row.auto_approve_max_change_pct, settings.AUTO_APPROVE_MAX_CHANGE_PCT
        ),
        auto_approve_max_usd_per_day=min(
            row.auto_approve_max_usd_per_day, settings.AUTO_APPROVE_MAX_USD_PER_DAY
        ),
    )


@dataclass(frozen=True)
class LiveState:
    """What runs now, as far as Ballast knows, and a fingerprint of it."""

    allocation: dict[str, int]  # offer name -> replicas
    applied_plan_id: int | None
    fingerprint: str


def frozen_targets(workload: Workload) -> list[dict]:
    """The workload's deployment targets as a plan freezes them at proposal (`frozen_target`)."""
    return [frozen_target(t) for t in workload.targets.order_by("pk")]


def live_state(workload: Workload) -> LiveState:
    """The first interval of the last applied plan (nothing before any apply), fingerprinted.

    The fingerprint covers the allocation, the plan it came from, the deployment targets and
    what each reports now, so a new apply or a changed target makes older plans stale.
    """
    applied = (
        ScalingPlan.objects.filter(workload=workload, status=PlanStatus.APPLIED)
        .order_by("-applied_at", "-pk")
        .first()
    )
    allocation: dict[str, int] = {}
    chosen = applied.chosen if applied is not None else None
    if chosen is not None:
        allocation = chosen.first_interval()
    targets = []
    for target in workload.targets.order_by("kind", "reference"):
        try:
            observed = actuator_for(target).describe()
        except ActuatorError as exc:
            observed = {"unavailable": str(exc)}
        targets.append([target.kind, target.reference, target.dry_run, observed])
    state = {
        "allocation": dict(sorted(allocation.items())),
        "applied_plan": applied.pk if applied else None,
        "targets": targets,
    }
    digest = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()
    return LiveState(allocation, applied.pk if applied else None, digest)


def build_problem(
    plan: ScalingPlan, demand: DemandForecast, rules: Guardrails, live: LiveState
) -> AllocationProblem:
    """The allocation problem of `plan`'s workload over its horizon.

    Raises:
        PlanningError: no SLA, no variant with a capacity profile, or no price for them.
    """
    workload = plan.workload
    sla = getattr(workload, "sla", None)
    if workload.kind != Workload.Kind.ONLINE:
        raise PlanningError("a batch workload's plan is posed by `batch_jobs`")
    if sla is None or not sla.latency_target_ms:
        raise PlanningError("the workload has no latency SLA: set latency_target_ms first")
    target = SLA(sla.latency_target_ms, sla.latency_percentile or 99.0)
    floor = sla.min_accuracy or 0.0
    variants, instance_types, unreachable = [], set(), []
    for variant in workload.variants.prefetch_related("capacity_profiles__instance_type"):
        if variant.accuracy < floor:
            continue
        profiles = []
        for p in variant.capacity_profiles.all():
            if not (p.max_rps and p.service_time_ms):
                continue
            if not target.reachable(p.service_time_ms):  # no capacity could meet the SLA there
                unreachable.append(f"{variant.name} on {p.instance_type.name}")
                continue
            profiles.append(VariantProfile(p.instance_type.name, p.max_rps, p.service_time_ms))
        if profiles:
            variants.append(ModelVariant(variant.name, variant.accuracy, tuple(profiles)))
            instance_types.update(p.instance_type for p in profiles)
    if not variants:
        raise PlanningError(
            "no model variant has a capacity profile with max_rps and service_time_ms"
            + (f" at or above the SLA's accuracy floor {floor}" if floor else "")
            + (
                f" on which p{target.latency_percentile:g} under {target.latency_target_ms:g} "
                f"ms is reachable (ruled out: {', '.join(unreachable)})"
                if unreachable
                else ""
            )
            + ": register one first"
        )
    offers = _offers(plan.region, instance_types)
    if not offers:
        raise PlanningError(
            f"no on-demand or spot price in region {plan.region!r} for "
            f"{', '.join(sorted(instance_types))}: import the catalog first"
        )
    allowed = rules.allowed_purchase_options or PURCHASE_OPTIONS
    # The non-spot base is the SRE's to require; beyond it, on-demand replicas are bought
    # where they pay (the optimizer prices them against spot and functions; spot's reclaims
    # are not priced by the objective, only counted by the candidates' replays).
    base = (rules.min_non_spot_replicas or 0) if "on_demand" in allowed else 0
    constraints = Constraints(
        min_non_spot_replicas=base,
        min_replicas=max(rules.min_replicas or 0, base),
        max_change_per_interval=rules.max_scale_step,
        allowed_purchase_options=tuple(allowed),
        min_accuracy=floor,
    )
    smallest = min(workload.variants.values_list("memory_mb", flat=True))
    fastest = min(p.service_time_ms for v in variants for p in v.profiles)
    return AllocationProblem(
        name=f"{workload.team.slug}/{workload.name}",
        interval_s=plan.interval_s,
        demand=demand,
        offers=offers,
        variants=tuple(variants),
        sla=target,
        constraints=constraints,
        serverless=_serverless(plan.region, smallest, fastest),
        initial_replicas=sum(live.allocation.values()),
    )


def batch_jobs(
    plan: ScalingPlan, rules: Guardrails
) -> tuple[dict[str, BatchJob], tuple[Offer, ...]]:
    """(variant name -> its job, the offers) of a batch workload's next run.

    The job is the SLA's `items_per_run` inside its window (`window_length_h`), at each
    variant's items per second (variants under `min_accuracy` left out), planned per
    `plan.interval_s` within the guardrails' `min_replicas` and `max_scale_step` (a run
    starts from none); the offers are the in-force on-demand and spot prices they allow.

    Raises:
        PlanningError: no window, no items per run, no variant with items_per_s, or no price.
    """
    sla = getattr(plan.workload, "sla", None)
    if sla is None or sla.window_start_utc is None or not sla.window_length_h:
        raise PlanningError(
            "the batch workload has no deadline window: set window_start_utc and window_length_h"
        )
    if not sla.items_per_run:
        raise PlanningError("set the SLA's items_per_run: a batch plan is made for one run's work")
    if plan.interval_s > sla.window_length_h * 3600:
        raise PlanningError(
            f"interval_s {plan.interval_s} is longer than the {sla.window_length_h:g} h window"
        )
    floor = sla.min_accuracy or 0.0
    jobs: dict[str, BatchJob] = {}
    for variant in plan.workload.variants.prefetch_related("capacity_profiles__instance_type"):
        rates = {
            p.instance_type.name: p.items_per_s
            for p in variant.capacity_profiles.all()
            if p.items_per_s
        }
        if variant.accuracy >= floor and rates:
            jobs[variant.name] = BatchJob(
                name=variant.name,
                items=sla.items_per_run,
                deadline_s=sla.window_length_h * 3600,
                interval_s=plan.interval_s,
                items_per_s=rates,
                min_replicas=rules.min_replicas or 0,
                max_change_per_interval=rules.max_scale_step,
            )
    if not jobs:
        raise PlanningError(
            "no model variant has a capacity profile with items_per_s"
            + (f" at or above the SLA's accuracy floor {floor}" if floor else "")
            + ": register one first"
        )
    types = {t for job in jobs.values() for t in job.items_per_s}
    allowed = rules.allowed_purchase_options or tuple(PLANNED_OPTIONS.values())
    offers = tuple(o for o in _offers(plan.region, types) if o.purchase_option in allowed)
    if not offers:
        raise PlanningError(
            f"no {' or '.join(allowed)} price in region {plan.region!r} for "
            f"{', '.join(sorted(types))}: import the catalog first"
        )
    return jobs, offers


def next_window_start(sla, now: datetime) -> datetime:
    """The start of the batch window that begins next (today's, if it has not begun yet)."""
    start = datetime.combine(now.date(), sla.window_start_utc, tzinfo=UTC)
    return start if start >= now else start + timedelta(days=1)


def _offers(region: str, instance_types: set[str]) -> tuple[Offer, ...]:
    rows = (
        CatalogOffer.objects.in_force()
        .filter(
            region__code=region,
            instance_type__name__in=instance_types,
            purchase_option__in=list(PLANNED_OPTIONS),
        )
        .select_related("instance_type")
        .order_by("instance_type__name", "purchase_option")
    )
    offers = []
    for row in rows:
        option = PLANNED_OPTIONS[row.purchase_option]
        hazard = SPOT_HAZARD_PER_HOUR.get(row.interruption_band, 0.0) if option == "spot" else 0.0
        offers.append(
            Offer(
                name=f"{row.instance_type.name}/{option}",
                instance_type=row.instance_type.name,
                purchase_option=option,
                price_per_hour_usd=float(row.price_per_hour_usd),
                boot_delay_s=GPU_BOOT_S if row.instance_type.gpu_count else CPU_BOOT_S,
                interruption_rate_per_hour=hazard,
            )
        )
    return tuple(offers)


def _serverless(region: str, memory_mb: int, service_time_ms: float) -> ServerlessOffer | None:
    """The cheapest function offer that fits the smallest variant, run at its fastest speed."""
    rows = CatalogServerless.objects.filter(
        region__code=region, memory_min_mb__lte=memory_mb, memory_max_mb__gte=memory_mb
    ).order_by("price_per_gb_second_usd", "name")
    row = rows.first()
    if row is None:
        return None
    return ServerlessOffer(
        name=row.name,
        price_per_request_usd=float(row.price_per_request_usd),
        price_per_gb_s_usd=float(row.price_per_gb_second_usd),
        memory_mb=memory_mb,
        duration_ms=service_time_ms,
        cold_start_s=row.cold_start_s,
        max_concurrency=row.max_concurrency or 1000,
    )


def default_region(workload: Workload) -> str:
    """The region with the most in-force prices for the workload's instance types."""
    types = workload.variants.values_list("capacity_profiles__instance_type", flat=True)
    counts: dict[str, int] = {}
    for code in (
        CatalogOffer.objects.in_force()
        .filter(instance_type__in=types)
        .values_list("region__code", flat=True)
    ):
        counts[code] = counts.get(code, 0) + 1
    return min(counts, key=lambda c: (-counts[c], c)) if counts else ""
