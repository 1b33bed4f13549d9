"""Optimization runs: submit a problem, poll for its solution and Pareto front."""

from rest_framework import mixins, viewsets

from apps.plans import services
from apps.plans.api.serializers import OptimizationRunSerializer
from apps.plans.models import OptimizationRun


class OptimizationRunViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """POST queues a run on the gpu queue; GET polls it."""

    serializer_class = OptimizationRunSerializer
    filterset_fields = ["workload", "method", "status"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        """Runs of visible workloads."""
        return OptimizationRun.objects.visible_to(self.request.user)

    def perform_create(self, serializer):
        """Queue the run."""
        data = serializer.validated_data
        serializer.instance = services.request_optimization(
            workload=data["workload"],
            problem=data["problem"],
            method=data.get("method", OptimizationRun.Method.GAPSO),
            seed=data.get("seed", 0),
            with_pareto=data.get("with_pareto", True),
            by=self.request.user,
        )
