"""Serializers for optimization runs, scaling plans, guardrails, schedules and the audit trail."""

import math

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied

from apps.accounts import roles
from apps.accounts.models import Role, Team
from apps.catalog.models import Region
from apps.kernel.api import RejectUnknownFieldsMixin
from apps.kernel.fields import BoundedListField
from apps.kernel.runs import RUN_STATE_FIELDS
from apps.plans.models import AuditEvent, Guardrail, OptimizationRun, PlanSchedule, ScalingPlan
from apps.workloads.api.serializers import WorkloadChildSerializer, WorkloadField
from optimization.guardrails import DAY_NAMES, HHMM, parse_windows
from optimization.problem import PURCHASE_OPTIONS, problem_from_dict

SOLUTION_TOTALS = ("status", "feasible", "cost_usd", "sla_violation_rate")
RESULT_FIELDS = ("solution", "pareto", "knee_index", "device", *RUN_STATE_FIELDS)


@extend_schema_field(
    {
        "type": "object",
        "required": ["interval_s", "demand", "offers", "variants", "sla"],
        "additionalProperties": True,
    }
)
class ProblemField(serializers.JSONField):
    """An allocation problem as `optimization.problem.problem_from_dict` reads it.

    The schema gives its shape; how its parts agree (a demand row per level, offers for each
    variant's instance types) is checked by the library, and refused naming the part.
    """


class OptimizationRunSerializer(WorkloadChildSerializer):
    """A run with its problem, solution and Pareto front."""

    problem = ProblemField(
        help_text="see optimization/problem.py and `python -m optimization example`"
    )

    class Meta:
        model = OptimizationRun
        fields = ["id", "workload", "problem", "method", "seed", "with_pareto", *RESULT_FIELDS]
        read_only_fields = RESULT_FIELDS

    def validate_problem(self, problem):
        """The problem's own checks name the field and the problem."""
        try:
            problem_from_dict(problem)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return problem


class OptimizationRunSummarySerializer(OptimizationRunSerializer):
    """A run in a list: its state and outcome in brief, without the problem and the front."""

    outcome = serializers.SerializerMethodField(
        help_text="the solution's status, feasible, cost_usd and sla_violation_rate; null before "
        "there is one"
    )
    pareto_size = serializers.SerializerMethodField(help_text="candidates on the front")

    class Meta(OptimizationRunSerializer.Meta):
        fields = [
            "id",
            "workload",
            "method",
            "seed",
            "with_pareto",
            "knee_index",
            "device",
            *RUN_STATE_FIELDS,
            "outcome",
            "pareto_size",
        ]
        read_only_fields = fields

    def get_outcome(self, run) -> dict | None:
        """The solution's totals over the horizon, without its schedule."""
        if not run.solution:
            return None
        return {key: run.solution[key] for key in SOLUTION_TOTALS}

    def get_pareto_size(self, run) -> int:
        """How many candidates `GET optimization-runs/{id}/` returns in `pareto`."""
        return len(run.pareto or [])


INSURANCE_SCHEMA = {
    "type": "object",
    "description": "what a reclaim wave's insurance costs per day beyond keeping every spot "
    "replica in the cheapest pool (apps.plans.insurance): spreading the spot replicas over "
    "`pools` (none carrying more than `largest_pool_share` of the spot capacity) and a non-spot "
    "floor on `floor_pool` that carries what functions could not take if the largest pool were "
    "reclaimed; the candidate's envelope keeps that floor (`floor_replicas`, per interval)",
    "properties": {
        "spread_usd_per_day": {"type": "number"},
        "floor_usd_per_day": {"type": "number"},
        "total_usd_per_day": {"type": "number"},
        "floor_replicas_max": {"type": "integer", "minimum": 0},
        "floor_replicas": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "largest_pool_share": {"type": "number", "minimum": 0, "maximum": 1},
        "pools": {
            "type": "array",
            "items": {"type": "string", "example": "c6i.xlarge/spot"},
            "description": "the spot pools spread over, cheapest per rps first",
        },
        "floor_pool": {"type": "string", "example": "c6i.xlarge/on_demand"},
        "uncovered_replicas_max": {
            "type": "integer",
            "minimum": 0,
            "description": "the floor the guardrails' purchase options leave unbought",
        },
        "note": {"type": "string", "description": "why there is no insurance, if there is none"},
    },
    "required": [
        "spread_usd_per_day",
        "floor_usd_per_day",
        "total_usd_per_day",
        "floor_replicas_max",
        "largest_pool_share",
        "pools",
    ],
}


@extend_schema_field({**INSURANCE_SCHEMA, "nullable": True})
class InsuranceField(serializers.JSONField):
    """The chosen candidate's spot insurance; null before there is one."""


@extend_schema_field({"type": "array", "items": INSURANCE_SCHEMA})
class FrontInsuranceField(serializers.JSONField):
    """Each candidate's spot insurance, in the order of `front`."""


class ScalingPlanSerializer(serializers.ModelSerializer):
    """A plan as CI and the pages read it: the chosen schedule, its cost and risk, the front."""

    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    chosen_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    expected_cost_per_day_usd = serializers.FloatField(read_only=True, allow_null=True)
    delta_cost_per_day_usd = serializers.FloatField(read_only=True, allow_null=True)
    sla_risk = serializers.FloatField(read_only=True, allow_null=True)
    schedule = serializers.SerializerMethodField(
        help_text="the chosen candidate's replicas per interval: [[{offer, variant, count}]]"
    )
    insurance = InsuranceField(source="chosen_insurance", read_only=True)
    front_insurance = FrontInsuranceField(source="insurance", read_only=True)

    class Meta:
        model = ScalingPlan
        fields = [
            "id",
            "workload",
            "status",
            "origin",
            "requested_by",
            "created_at",
            "updated_at",
            "expires_at",
            "series",
            "interval_s",
            "horizon_intervals",
            "region",
            "forecast_run",
            "start_at",
            "expected_cost_per_day_usd",
            "sla_risk",
            "current_allocation",
            "current_cost_per_day_usd",
            "delta_cost_per_day_usd",
            "schedule",
            "recommended_index",
            "chosen_index",
            "choice_reason",
            "chosen_by",
            "insurance",
            "front",
            "front_insurance",
            "guardrail_checks",
            "live_fingerprint",
            "message",
            "decided_by",
            "decided_at",
            "decision_comment",
            "auto_approved",
            "applied_at",
        ]
        read_only_fields = fields

    def get_schedule(self, plan) -> list:
        """The chosen candidate's schedule, or [] before there is one."""
        chosen = plan.chosen
        return chosen.to_json()["schedule"] if chosen else []


class ScalingPlanSummarySerializer(ScalingPlanSerializer):
    """A plan in a list: everything but the front, which holds every candidate's schedule."""

    front_size = serializers.SerializerMethodField(help_text="candidates on the plan's front")

    class Meta(ScalingPlanSerializer.Meta):
        fields = [
            f for f in ScalingPlanSerializer.Meta.fields if f not in ("front", "front_insurance")
        ] + ["front_size"]
        read_only_fields = fields

    def get_front_size(self, plan) -> int:
        """How many candidates `GET plans/{id}/` returns in `front`."""
        return len(plan.front)


class PlanRequestSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """What a plan request may say; everything but the workload has a default."""

    workload = WorkloadField()
    series = serializers.RegexField(r"^[a-z0-9_.:-]{1,64}$", default="requests")
    interval_s = serializers.IntegerField(
        default=3600, min_value=300, max_value=86_400, help_text="planning interval, s"
    )
    horizon_intervals = serializers.IntegerField(default=24, min_value=1, max_value=168)
    region = serializers.CharField(
        default="",
        allow_blank=True,
        max_length=32,
        help_text="catalog region; default: most priced",
    )

    def validate_region(self, value: str) -> str:
        """A region the catalog knows, or blank for the workload's default."""
        if value and not Region.objects.filter(code=value).exists():
            known = ", ".join(sorted(set(Region.objects.values_list("code", flat=True))))
            raise serializers.ValidationError(
                f"unknown region {value!r}: the catalog has {known or 'none'}",
                code="does_not_exist",
            )
        return value


class DecisionSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """An approval or rejection, with an optional comment (kept in the audit trail)."""

    comment = serializers.CharField(default="", allow_blank=True, max_length=2000)


class ChoiceSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Another point of the front, and why."""

    candidate = serializers.IntegerField(min_value=0, help_text="index into `front`")
    reason = serializers.CharField(max_length=2000)


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "days": {"type": "array", "items": {"enum": list(DAY_NAMES)}, "minItems": 1},
                "start": {"type": "string", "pattern": HHMM.pattern, "example": "09:00"},
                "end": {"type": "string", "pattern": HHMM.pattern, "example": "17:00"},
            },
            "required": ["days", "start", "end"],
            "additionalProperties": False,
        },
        "description": "UTC windows in which changes may apply; start and end differ",
    }
)
class ChangeWindowsField(serializers.JSONField):
    """`[{"days": ["mon", ...], "start": "HH:MM", "end": "HH:MM"}]`, checked by parse_windows."""


class GuardrailSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """Limits for a team (by slug) or one workload (by id): exactly one of the two."""

    team = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), required=False, allow_null=True
    )
    workload = WorkloadField(required=False, allow_null=True)
    allowed_purchase_options = BoundedListField(
        max_length=len(PURCHASE_OPTIONS),
        child=serializers.ChoiceField(choices=PURCHASE_OPTIONS),
        allow_empty=False,
        min_length=1,
        required=False,
        allow_null=True,
    )
    change_windows = ChangeWindowsField(required=False)

    class Meta:
        model = Guardrail
        fields = ["id", "team", "workload", *Guardrail.RULES, "updated_at"]

    def validate_budget_per_day_usd(self, value):
        """Finite and positive."""
        if value is not None and not (math.isfinite(value) and value > 0):
            raise serializers.ValidationError("must be a finite number > 0")
        return value

    def validate_auto_approve_max_change_pct(self, value):
        """A percentage within the operator's ceiling (`BALLAST_AUTO_APPROVE_MAX_CHANGE_PCT`)."""
        ceiling = settings.AUTO_APPROVE_MAX_CHANGE_PCT
        if not (math.isfinite(value) and 0 <= value <= ceiling):
            raise serializers.ValidationError(f"must be between 0 and {ceiling} (the operator's)")
        return value

    def validate_auto_approve_max_usd_per_day(self, value):
        """USD within the operator's ceiling (`BALLAST_AUTO_APPROVE_MAX_USD_PER_DAY`)."""
        ceiling = settings.AUTO_APPROVE_MAX_USD_PER_DAY
        if not (math.isfinite(value) and 0 <= value <= ceiling):
            raise serializers.ValidationError(f"must be between 0 and {ceiling} (the operator's)")
        return value

    def validate_change_windows(self, value):
        """Each window's days and HH:MM bounds, named on error."""
        try:
            parse_windows(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value

    def validate(self, attrs):
        """Exactly one scope, unchanged after creation, writable by the user."""
        team = attrs.get("team", getattr(self.instance, "team", None))
        workload = attrs.get("workload", getattr(self.instance, "workload", None))
        if (team is None) == (workload is None):
            raise serializers.ValidationError({"team": ["give exactly one of team and workload"]})
        if self.instance is not None and (
            team != self.instance.team or workload != self.instance.workload
        ):
            raise serializers.ValidationError({"team": ["a guardrail cannot change its scope"]})
        owner = team or workload.team
        user = self.context["request"].user
        if not (roles.holds_role(user, owner, Role.SRE) or roles.is_finops(user)):
            raise PermissionDenied(f"guardrails of {owner} are set by its SREs or FinOps")
        existing = Guardrail.objects.filter(team=team, workload=workload)
        if self.instance is None and existing.exists():
            raise serializers.ValidationError(
                {"team" if team else "workload": ["already has guardrails: update them"]}
            )
        return attrs


class PlanScheduleSerializer(WorkloadChildSerializer):
    """Celery beat requests a plan every `every_minutes` (15 to 1,440)."""

    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    every_minutes = serializers.IntegerField(min_value=15, max_value=1440, default=60)

    class Meta:
        model = PlanSchedule
        fields = ["id", "workload", "every_minutes", "enabled", "requested_by", "last_requested_at"]
        read_only_fields = ["requested_by", "last_requested_at"]

    def validate(self, attrs):
        """One schedule per workload (checked here to name the field, not left to the table)."""
        workload = attrs.get("workload") or self.instance.workload
        clash = PlanSchedule.objects.filter(workload=workload).exclude(
            pk=getattr(self.instance, "pk", None)
        )
        if clash.exists():
            raise serializers.ValidationError(
                {"workload": [f"already has a plan schedule ({clash[0].pk}): update that one"]}
            )
        return attrs


class AuditEventSerializer(serializers.ModelSerializer):
    """One append-only audit row."""

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "actor",
            "via",
            "action",
            "team_id",
            "workload_id",
            "workload_name",
            "plan_id",
            "from_status",
            "to_status",
            "reason",
            "comment",
            "detail",
        ]
        read_only_fields = fields
