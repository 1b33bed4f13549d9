"""Serializers for optimization runs."""

from rest_framework import serializers

from apps.plans.models import OptimizationRun
from apps.workloads.api.serializers import WorkloadChildSerializer
from optimization.problem import problem_from_dict


class OptimizationRunSerializer(WorkloadChildSerializer):
    """A run with its problem, solution and Pareto front."""

    problem = serializers.JSONField(
        help_text="see optimization/problem.py and `python -m optimization example`"
    )

    class Meta:
        model = OptimizationRun
        fields = [
            "id",
            "workload",
            "problem",
            "method",
            "seed",
            "with_pareto",
            "status",
            "message",
            "solution",
            "pareto",
            "knee_index",
            "device",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = [
            "status",
            "message",
            "solution",
            "pareto",
            "knee_index",
            "device",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def validate_problem(self, problem):
        """The problem's own checks name the field and the problem."""
        try:
            problem_from_dict(problem)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return problem
