"""Serializers for workloads and what describes them: SLA, model variants, deployment targets.

Also the base every serializer of a workload's rows builds on (`WorkloadChildSerializer`, here
and in other apps); a workload's metrics have theirs in `metric_serializers`.
"""

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied

from actuators.targets import POOLED_KINDS, TARGET_KINDS
from apps.accounts import roles
from apps.accounts.models import Team
from apps.catalog.models import InstanceType
from apps.kernel.api import RejectUnknownFieldsMixin
from apps.workloads.models import (
    MAX_ITEMS_PER_RUN,
    MAX_PEAK_RPS,
    SLA,
    CapacityProfile,
    DeploymentTarget,
    ModelVariant,
    Workload,
)


def check_writable(user, team: Team) -> None:
    """Refuse with 403 unless the user is sre or ci in `team`."""
    if not roles.can_write_team(user, team):
        raise PermissionDenied(f"team: you need the sre or ci role in team {team.slug!r}")


@extend_schema_field(OpenApiTypes.INT)
class WorkloadField(serializers.PrimaryKeyRelatedField):
    """A workload the requesting user may see; writing under it needs a write role."""

    def get_queryset(self):
        """Only visible workloads resolve; others read as 'does not exist'."""
        return Workload.objects.visible_to(self.context["request"].user)


class WorkloadChildSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """Rows that belong to one workload; the workload cannot be changed after creation."""

    workload = WorkloadField()

    def validate_workload(self, workload):
        """Writes need the sre or ci role in the workload's team."""
        if self.instance is not None and workload != self.instance.workload:
            raise serializers.ValidationError("cannot move a row to another workload")
        check_writable(self.context["request"].user, workload.team)
        return workload


class WorkloadSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """A workload; `team` is the team's slug."""

    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())

    class Meta:
        model = Workload
        fields = ["id", "team", "name", "kind", "description", "created_at", "updated_at"]

    def validate_team(self, team):
        """Create and move workloads only within teams where the user writes."""
        if self.instance is not None and team != self.instance.team:
            raise serializers.ValidationError("a workload cannot move to another team")
        check_writable(self.context["request"].user, team)
        return team

    def validate_kind(self, kind):
        """Changing the kind would orphan the SLA and profiles written for the other kind."""
        if self.instance is not None and kind != self.instance.kind:
            raise serializers.ValidationError("cannot change the kind of an existing workload")
        return kind

    def validate(self, attrs):
        """Names are unique within a team (checked here to name the field)."""
        team = attrs.get("team", getattr(self.instance, "team", None))
        name = attrs.get("name", getattr(self.instance, "name", None))
        clash = Workload.objects.filter(team=team, name=name).exclude(
            pk=getattr(self.instance, "pk", None)
        )
        if clash.exists():
            raise serializers.ValidationError(
                {"name": [f"team {team.slug!r} already has {name!r}"]}
            )
        return attrs


class SLASerializer(WorkloadChildSerializer):
    """Online: latency percentile and target, availability. Batch: the deadline window.

    Batch, optional: `items_per_run`, the work each run does inside the window (a batch
    workload's plan is made for it).

    Online, optional: `peak_rps`, the load the latency target is promised up to (a new
    workload's first plan is sized for it). Both: `min_accuracy`, the floor no chosen model
    variant goes below.
    """

    latency_percentile = serializers.FloatField(
        min_value=0.1, max_value=99.999, required=False, allow_null=True
    )
    latency_target_ms = serializers.FloatField(min_value=0.001, required=False, allow_null=True)
    availability = serializers.FloatField(
        min_value=0.000001, max_value=1, required=False, allow_null=True
    )
    window_length_h = serializers.FloatField(
        min_value=0.01, max_value=168, required=False, allow_null=True
    )
    min_accuracy = serializers.FloatField(min_value=0, max_value=1, required=False, allow_null=True)
    peak_rps = serializers.FloatField(
        min_value=0.000001, max_value=MAX_PEAK_RPS, required=False, allow_null=True
    )

    items_per_run = serializers.FloatField(
        min_value=0.000001, max_value=MAX_ITEMS_PER_RUN, required=False, allow_null=True
    )

    ONLINE_FIELDS = ("latency_percentile", "latency_target_ms", "availability")
    ONLINE_OPTIONAL = ("peak_rps",)
    BATCH_FIELDS = ("window_start_utc", "window_length_h")
    BATCH_OPTIONAL = ("items_per_run",)

    class Meta:
        model = SLA
        fields = [
            "id",
            "workload",
            "latency_percentile",
            "latency_target_ms",
            "availability",
            "peak_rps",
            "min_accuracy",
            "window_start_utc",
            "window_length_h",
            "items_per_run",
        ]

    def validate(self, attrs):
        """The fields of the workload's kind are required; the other kind's must be empty."""
        workload = attrs.get("workload") or self.instance.workload
        if self.instance is None and SLA.objects.filter(workload=workload).exists():
            raise serializers.ValidationError({"workload": ["already has an SLA; update it"]})
        merged = {
            f: attrs.get(f, getattr(self.instance, f, None))
            for f in self.ONLINE_FIELDS
            + self.ONLINE_OPTIONAL
            + self.BATCH_FIELDS
            + self.BATCH_OPTIONAL
        }
        needed, banned = (
            (self.ONLINE_FIELDS, self.BATCH_FIELDS + self.BATCH_OPTIONAL)
            if workload.kind == Workload.Kind.ONLINE
            else (self.BATCH_FIELDS, self.ONLINE_FIELDS + self.ONLINE_OPTIONAL)
        )
        kind = "an online" if workload.kind == Workload.Kind.ONLINE else "a batch"
        errors = {f: [f"required for {kind} workload"] for f in needed if merged[f] is None}
        errors |= {f: [f"not used by {kind} workload"] for f in banned if merged[f] is not None}
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class CapacityProfileSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """Per-replica capacity of a variant on an instance type (named, e.g. `g5.xlarge`)."""

    instance_type = serializers.SlugRelatedField(
        slug_field="name", queryset=InstanceType.objects.all()
    )
    max_rps = serializers.FloatField(min_value=0.000001, required=False, allow_null=True)
    items_per_s = serializers.FloatField(min_value=0.000001, required=False, allow_null=True)
    service_time_ms = serializers.FloatField(min_value=0.000001, required=False, allow_null=True)

    class Meta:
        model = CapacityProfile
        fields = ["instance_type", "max_rps", "items_per_s", "service_time_ms"]


class ModelVariantSerializer(WorkloadChildSerializer):
    """A model variant with its capacity profiles (replaced as a whole when sent)."""

    accuracy = serializers.FloatField(min_value=0, max_value=1)
    # One profile an instance type; the bound is checked before any profile is validated.
    capacity_profiles = CapacityProfileSerializer(many=True, required=False, max_length=200)

    class Meta:
        model = ModelVariant
        fields = [
            "id",
            "workload",
            "name",
            "version",
            "accuracy",
            "memory_mb",
            "capacity_profiles",
            "created_at",
        ]

    def validate(self, attrs):
        """Online profiles need max_rps, batch ones items_per_s; one profile per instance type."""
        workload = attrs.get("workload") or self.instance.workload
        name = attrs.get("name", getattr(self.instance, "name", None))
        clash = ModelVariant.objects.filter(workload=workload, name=name).exclude(
            pk=getattr(self.instance, "pk", None)
        )
        if clash.exists():
            raise serializers.ValidationError({"name": [f"workload already has variant {name!r}"]})
        measure = "max_rps" if workload.kind == Workload.Kind.ONLINE else "items_per_s"
        seen = set()
        for index, profile in enumerate(attrs.get("capacity_profiles") or []):
            where = f"capacity_profiles[{index}]"
            if profile.get(measure) is None:
                raise serializers.ValidationError(
                    {f"{where}.{measure}": [f"required for a {workload.kind} workload"]}
                )
            if profile["instance_type"].pk in seen:
                raise serializers.ValidationError(
                    {f"{where}.instance_type": [f"{profile['instance_type']} appears twice"]}
                )
            seen.add(profile["instance_type"].pk)
        return attrs

    def create(self, validated_data):
        """Delegate to the service that owns variant writes."""
        from apps.workloads.services import save_variant

        profiles = validated_data.pop("capacity_profiles", [])
        return save_variant(variant=ModelVariant(**validated_data), profiles=profiles)

    def update(self, instance, validated_data):
        """Replace fields, and profiles when sent."""
        from apps.workloads.services import save_variant

        profiles = validated_data.pop("capacity_profiles", None)
        for field, value in validated_data.items():
            setattr(instance, field, value)
        return save_variant(variant=instance, profiles=profiles)


ALB_ROUTE_ARN = re.compile(
    r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener(-rule)?/app/[\w./-]+$"
)


class DeploymentTargetSerializer(WorkloadChildSerializer):
    """A reference to where the workload runs; never credentials."""

    K8S_KINDS = {kind.name for kind in TARGET_KINDS if kind.platform == "kubernetes"}
    POOLED = set(POOLED_KINDS)

    class Meta:
        model = DeploymentTarget
        fields = ["id", "workload", "kind", "reference", "dry_run", "pool", "created_at"]

    def validate(self, attrs):
        """Kubernetes references are namespace/name; only Kubernetes objects carry one pool."""
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        reference = attrs.get("reference", getattr(self.instance, "reference", ""))
        pool = attrs.get("pool", getattr(self.instance, "pool", ""))
        workload = attrs.get("workload", getattr(self.instance, "workload", None))
        refusal = workload.team.target_reference_refusal(reference) if workload else None
        if refusal:
            raise serializers.ValidationError({"reference": [refusal]})
        if kind in self.K8S_KINDS and reference.count("/") != 1:
            raise serializers.ValidationError(
                {"reference": [f"a {kind} reference is namespace/name, got {reference!r}"]}
            )
        if kind == "aws_alb_route" and not ALB_ROUTE_ARN.match(reference):
            raise serializers.ValidationError(
                {
                    "reference": [
                        "an aws_alb_route reference is an ELBv2 listener or listener-rule ARN "
                        f"(arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/...), "
                        f"got {reference!r}"
                    ]
                }
            )
        if pool and kind not in self.POOLED:
            raise serializers.ValidationError(
                {"pool": [f"a {kind} carries every pool (an Auto Scaling group mixes them itself)"]}
            )
        return attrs
