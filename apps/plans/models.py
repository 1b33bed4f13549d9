"""Optimization runs, scaling plans, their guardrails and schedules, and the audit trail."""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.kernel.runs import Run
from apps.workloads.models import WorkloadChildQuerySet
from apps.workloads.signals import describe_target
from optimization.batch import BatchJob
from optimization.problem import AllocationProblem, Offer, build, problem_from_dict
from policies.candidate import PlanCandidate
from policies.envelope import Bounds


class OptimizationRun(Run):
    """One allocation problem of a workload, solved by GA-PSO or the exact reference."""

    class Method(models.TextChoices):
        GAPSO = "gapso"
        EXACT = "exact"
        HYBRID = "hybrid"
        EXHAUSTIVE = "exhaustive"

    workload = models.ForeignKey("workloads.Workload", models.CASCADE, related_name="optimizations")
    problem = models.JSONField(help_text="an optimization.problem.AllocationProblem as JSON")
    method = models.CharField(max_length=16, choices=Method, default=Method.GAPSO)
    seed = models.PositiveIntegerField(default=0)
    with_pareto = models.BooleanField(default=True)
    solution = models.JSONField(null=True, blank=True)
    pareto = models.JSONField(
        null=True, blank=True, help_text="non-dominated points, cheapest first"
    )
    knee_index = models.PositiveIntegerField(null=True, blank=True)
    device = models.CharField(max_length=16, blank=True, help_text="where GA-PSO ran: cpu or cuda")
    objects = WorkloadChildQuerySet.as_manager()

    class Meta(Run.Meta):
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.method} optimization of {self.workload} ({self.status})"


class PlanStatus(models.TextChoices):
    """Where a scaling plan is in its life; `services.transition` is the only way between them."""

    DRAFT = "draft"
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"
    APPLYING = "applying"
    APPLIED = "applied"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"


# What a plan freezes of a deployment target: which object, where, live or not, which pool.
frozen_target = describe_target


class PlanQuerySet(WorkloadChildQuerySet):
    """Plans, scoped like their workloads."""

    def open(self) -> "PlanQuerySet":
        """Plans a newer plan for the same workload supersedes."""
        return self.filter(status__in=[PlanStatus.DRAFT, PlanStatus.PROPOSED, PlanStatus.APPROVED])


class ScalingPlan(models.Model):
    """A proposed schedule of capacity for one workload, from request to apply.

    `front` holds the candidate envelopes made from the Pareto front (cost against SLA risk),
    each with its schedule per interval, its envelope and its replayed figures;
    `recommended_index` is the cheapest that passes the guardrails and meets the SLA as replayed
    (`policies.candidate.recommend`), `chosen_index` the one that will be applied (the
    recommendation unless an SRE picked another, with `choice_reason`). `insurance` holds each
    candidate's spot insurance in the same order (`apps.plans.insurance`), whose non-spot floor
    the candidate's envelope already keeps. Money is in USD per day.
    """

    Status = PlanStatus

    class Origin(models.TextChoices):
        API = "api"
        PAGE = "page"
        SCHEDULE = "schedule"

    workload = models.ForeignKey("workloads.Workload", models.CASCADE, related_name="plans")
    status = models.CharField(max_length=16, choices=PlanStatus, default=PlanStatus.DRAFT)
    origin = models.CharField(max_length=16, choices=Origin, default=Origin.API)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField(help_text="a proposed or approved plan expires then")
    series = models.CharField(max_length=64, default="requests")
    interval_s = models.PositiveIntegerField(default=3600)
    horizon_intervals = models.PositiveIntegerField(default=24)
    region = models.CharField(max_length=32, blank=True, help_text="catalog region code")
    forecast_run = models.ForeignKey(
        "forecasts.ForecastRun", models.SET_NULL, null=True, blank=True, related_name="+"
    )
    start_at = models.DateTimeField(null=True, blank=True, help_text="first interval's start")
    problem = models.JSONField(null=True, blank=True)
    front = models.JSONField(default=list, blank=True, help_text="candidates, cheapest first")
    recommended_index = models.PositiveIntegerField(null=True, blank=True)
    chosen_index = models.PositiveIntegerField(null=True, blank=True)
    choice_reason = models.TextField(blank=True)
    chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    current_allocation = models.JSONField(default=dict, blank=True, help_text="offer -> replicas")
    current_cost_per_day_usd = models.FloatField(null=True, blank=True)
    live_fingerprint = models.CharField(max_length=64, blank=True)
    targets = models.JSONField(
        default=list,
        blank=True,
        help_text="the deployment targets frozen at proposal, which an approval covers: "
        '[{"id", "kind", "reference", "dry_run", "pool"}]',
    )
    guardrail_checks = models.JSONField(default=list, blank=True)
    insurance = models.JSONField(
        default=list,
        blank=True,
        help_text="each candidate's spot insurance, in the order of `front` "
        "(`apps.plans.insurance`); empty for a plan built before it was computed",
    )
    message = models.TextField(blank=True, help_text="why it failed, was refused or expired")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    auto_approved = models.BooleanField(default=False)
    applied_at = models.DateTimeField(null=True, blank=True)
    apply_claim = models.CharField(
        max_length=64, blank=True, help_text="the task applying the plan; one copy at a time"
    )
    apply_claimed_at = models.DateTimeField(null=True, blank=True)
    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["workload", "status"])]

    def __str__(self) -> str:
        return f"plan {self.pk} of {self.workload} ({self.status})"

    @property
    def is_batch(self) -> bool:
        """A batch workload's plan for one run (its candidates are schedules, not envelopes)."""
        return (self.problem or {}).get("kind") == "batch"

    def candidates(self) -> list[PlanCandidate]:
        """The stored front as the library's candidates, cheapest first."""
        return [PlanCandidate.from_json(c) for c in self.front]

    @property
    def chosen(self) -> PlanCandidate | None:
        """The candidate that would be applied."""
        if self.chosen_index is None or self.chosen_index >= len(self.front):
            return None
        return PlanCandidate.from_json(self.front[self.chosen_index])

    def allocation_problem(self) -> AllocationProblem:
        """An online plan's stored problem, rebuilt (`optimization.problem.problem_from_dict`)."""
        if self.problem is None or self.is_batch:
            raise ValueError(f"plan {self.pk} has no allocation problem")
        return problem_from_dict(self.problem)

    def offers(self) -> tuple[Offer, ...]:
        """The offers the plan's problem (online or batch) was posed with."""
        return tuple(build(Offer, o, "offers") for o in (self.problem or {}).get("offers", []))

    def batch_jobs(self) -> dict[str, BatchJob]:
        """A batch plan's jobs by model variant, as its problem posed them."""
        jobs = (self.problem or {}).get("jobs", {})
        return {variant: BatchJob(**job) for variant, job in jobs.items()}

    def covers(self, target: Any) -> bool:
        """Whether `target` (a deployment target) is one the plan froze, unchanged since.

        A plan proposed before targets were frozen covers every target of its workload.
        """
        if not self.targets:
            return True
        return frozen_target(target) in self.targets

    def option_of(self) -> dict[str, str]:
        """Offer name -> purchase option, for the offers the plan's problem had."""
        return {o.name: o.purchase_option for o in self.offers()}

    def envelope_hours(self) -> tuple[Bounds, ...]:
        """The chosen candidate's envelope, interval by interval (`policies.envelope`)."""
        chosen = self.chosen
        return chosen.envelope.hours if chosen else ()

    @property
    def chosen_insurance(self) -> dict[str, Any] | None:
        """The chosen candidate's spot insurance (`apps.plans.insurance`), if it was computed."""
        index = self.chosen_index
        if index is None or index >= min(len(self.front), len(self.insurance or [])):
            return None
        record: dict[str, Any] = self.insurance[index]
        return record

    @property
    def expected_cost_per_day_usd(self) -> float | None:
        """The chosen candidate's cost per day."""
        return self.chosen.cost_per_day_usd if self.chosen else None

    @property
    def sla_risk(self) -> float | None:
        """The chosen candidate's expected share of requests over the SLA target."""
        return self.chosen.sla_risk if self.chosen else None

    @property
    def delta_cost_per_day_usd(self) -> float | None:
        """Chosen cost per day minus what the current allocation costs."""
        chosen = self.chosen
        if chosen is None or self.current_cost_per_day_usd is None:
            return None
        return chosen.cost_per_day_usd - self.current_cost_per_day_usd


class Guardrail(models.Model):
    """Limits on the plans of a team, or of one workload (whose set fields override its team's).

    Exactly one of `team` and `workload` is set. Unset (null) fields impose nothing.
    """

    team = models.OneToOneField(
        "accounts.Team", models.CASCADE, null=True, blank=True, related_name="guardrail"
    )
    workload = models.OneToOneField(
        "workloads.Workload", models.CASCADE, null=True, blank=True, related_name="guardrail"
    )
    budget_per_day_usd = models.FloatField(null=True, blank=True)
    max_scale_step = models.PositiveIntegerField(
        null=True, blank=True, help_text="most replicas added or removed between two intervals"
    )
    min_replicas = models.PositiveIntegerField(null=True, blank=True)
    min_non_spot_replicas = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="replicas every interval keeps off spot (a non-spot base); null = none required",
    )
    allowed_purchase_options = models.JSONField(
        null=True, blank=True, help_text="subset of on_demand, spot, reserved; null = any"
    )
    change_windows = models.JSONField(
        default=list,
        blank=True,
        help_text='UTC windows for approvals and applies: [{"days": ["mon"], "start": "09:00", '
        '"end": "17:00"}]; empty = any time',
    )
    auto_approve = models.BooleanField(
        default=False, help_text="approve small changes without a human (off by default)"
    )
    auto_approve_max_change_pct = models.FloatField(default=5.0)
    auto_approve_max_usd_per_day = models.FloatField(default=10.0)
    updated_at = models.DateTimeField(auto_now=True)
    RULES = (  # the fields a person sets: each change to them is compared and audited
        "budget_per_day_usd",
        "max_scale_step",
        "min_replicas",
        "min_non_spot_replicas",
        "allowed_purchase_options",
        "change_windows",
        "auto_approve",
        "auto_approve_max_change_pct",
        "auto_approve_max_usd_per_day",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(team__isnull=False, workload__isnull=True)
                | models.Q(team__isnull=True, workload__isnull=False),
                name="guardrail_team_xor_workload",
            )
        ]

    def __str__(self) -> str:
        return f"guardrails of {self.team or self.workload}"


class GuardrailChange(models.Model):
    """A change to a guardrail that loosens it, waiting for a second person (`guardrail_changes`).

    `values` is the guardrail as it would be (null: removed), `before` as it was when proposed
    (null: none yet); `base_updated_at` the guardrail's `updated_at` then, so that an approval
    of a change to a guardrail that changed since is refused as stale.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        APPLIED = "applied"
        REJECTED = "rejected"
        EXPIRED = "expired"
        STALE = "stale"

    team = models.ForeignKey(
        "accounts.Team", models.CASCADE, null=True, blank=True, related_name="+"
    )
    workload = models.ForeignKey(
        "workloads.Workload", models.CASCADE, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    values = models.JSONField(null=True, blank=True, help_text="the guardrail after; null: removed")
    before = models.JSONField(null=True, blank=True, help_text="the guardrail before; null: none")
    loosened = models.JSONField(default=list, help_text="the rules the change loosens")
    base_updated_at = models.DateTimeField(null=True, blank=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-proposed_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(team__isnull=False, workload__isnull=True)
                | models.Q(team__isnull=True, workload__isnull=False),
                name="guardrail_change_team_xor_workload",
            )
        ]

    def __str__(self) -> str:
        return f"change {self.pk} to guardrails of {self.team or self.workload} ({self.status})"

    @property
    def owner(self) -> Any:
        """The team whose SREs decide (the workload's for a workload's guardrail)."""
        if self.workload is not None:
            return self.workload.team
        return self.team


class PlanSchedule(models.Model):
    """Celery beat requests a plan for the workload every `every_minutes`."""

    workload = models.OneToOneField(
        "workloads.Workload", models.CASCADE, related_name="plan_schedule"
    )
    every_minutes = models.PositiveIntegerField(default=60)
    enabled = models.BooleanField(default=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    last_requested_at = models.DateTimeField(null=True, blank=True)
    objects = WorkloadChildQuerySet.as_manager()

    def __str__(self) -> str:
        return f"plan {self.workload} every {self.every_minutes} min"


class AuditQuerySet(models.QuerySet["AuditEvent"]):
    """Audit events may be added and read, never changed or removed through the app."""

    def update(self, **kwargs: Any) -> int:
        """Refused."""
        raise AppendOnlyError("audit events cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        """Refused."""
        raise AppendOnlyError("audit events cannot be deleted")


class AppendOnlyError(Exception):
    """An attempt to change or delete an audit event."""


class AuditEvent(models.Model):
    """One plan transition or apply step: who, when, what, why. Append-only.

    Workloads and plans are kept by id and name, not as foreign keys, so the trail outlives
    them. The database refuses UPDATE and DELETE too (triggers in the migration).
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.CharField(max_length=150, help_text="username, or 'system'")
    via = models.CharField(max_length=16, help_text="page, api, token, schedule or system")
    action = models.CharField(max_length=48, db_index=True)
    team_id = models.IntegerField(db_index=True)
    workload_id = models.IntegerField(null=True, blank=True, db_index=True)
    workload_name = models.CharField(max_length=64, blank=True)
    plan_id = models.IntegerField(null=True, blank=True, db_index=True)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    reason = models.TextField(blank=True)
    comment = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)
    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} plan {self.plan_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Insert only."""
        if self.pk is not None:
            raise AppendOnlyError("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        """Never."""
        raise AppendOnlyError("audit events cannot be deleted")
