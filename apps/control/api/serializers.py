"""Controllers and their decisions as the API shows them (state as plain data stays inside)."""

from rest_framework import serializers

from apps.control.models import ControlDecision, Controller


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
