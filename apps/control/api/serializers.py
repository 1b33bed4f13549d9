"""Controllers and their decisions as the API shows them (state as plain data stays inside)."""

from rest_framework import serializers

from apps.control.models import ControlDecision, Controller
from apps.kernel.api import RejectUnknownFieldsMixin
from apps.workloads.api.metric_serializers import BoundedDateTimeField
from apps.workloads.models import SERIES_NAME


class ControllerSerializer(serializers.ModelSerializer):
    """A workload's controller: its policy, clock and why it holds, if it does."""

    class Meta:
        model = Controller
        fields = ["id", "workload", "enabled", "policy", "series", "step_s", "origin_at"]
        fields += ["last_step", "last_desired", "message", "updated_at"]
        read_only_fields = fields


class ControlDecisionSerializer(serializers.ModelSerializer):
    """One step's decision: replicas per pool, the load seen, whether the targets took it."""

    class Meta:
        model = ControlDecision
        fields = ["id", "workload", "step", "step_at", "policy", "demand_rps", "desired"]
        fields += ["replicas", "serverless_share", "wanted", "applied", "outcome", "decided_at"]
        read_only_fields = fields


class ObservationRangeSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """`{"series": "requests", "from": ISO-8601, "to": ISO-8601, "comment": "why"}`."""

    def get_fields(self):
        """`from` and `to` are Python keywords, so the fields are named here."""
        return {
            "series": serializers.CharField(max_length=64, validators=[SERIES_NAME]),
            "from": BoundedDateTimeField(help_text="first instant deleted (inclusive)"),
            "to": BoundedDateTimeField(help_text="end of the range (exclusive)"),
            "comment": serializers.CharField(
                max_length=1000, required=False, default="", allow_blank=True
            ),
        }

    def validate(self, attrs):
        """The range must not be empty."""
        if attrs["to"] <= attrs["from"]:
            raise serializers.ValidationError({"to": ["must be after from"]})
        return attrs


class ObservationsDeletedSerializer(serializers.Serializer):
    """What a deletion removed, and its audit event."""

    deleted = serializers.IntegerField()
    audit_event_id = serializers.IntegerField()
