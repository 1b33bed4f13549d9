"""Serializers for optimization runs."""

from rest_framework import serializers

from apps.plans.models import OptimizationRun
from apps.workloads.api.serializers import WorkloadChildSerializer
from controlplane.runs import RUN_STATE_FIELDS
from optimization.problem import problem_from_dict

RESULT_FIELDS = ("solution", "pareto", "knee_index", "device", *RUN_STATE_FIELDS)


class OptimizationRunSerializer(WorkloadChildSerializer):
    """A run with its problem, solution and Pareto front."""

    problem = serializers.JSONField(
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
