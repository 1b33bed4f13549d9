"""Read-only views of the live controller: what it is doing and what it decided."""

from rest_framework import viewsets

from apps.control.api.serializers import ControlDecisionSerializer, ControllerSerializer
from apps.control.models import ControlDecision, Controller


class ControllerViewSet(viewsets.ReadOnlyModelViewSet):
    """The live controller of each visible workload (operators enable them in the admin)."""

    serializer_class = ControllerSerializer
    filterset_fields = ["workload", "enabled", "policy"]

    def get_queryset(self):
        """Controllers of visible workloads."""
        return Controller.objects.visible_to(self.request.user).order_by("workload")


class ControlDecisionViewSet(viewsets.ReadOnlyModelViewSet):
    """Every step's decision, newest first; filter by `workload`, `applied`."""

    serializer_class = ControlDecisionSerializer
    filterset_fields = ["workload", "applied"]

    def get_queryset(self):
        """Decisions of visible workloads."""
        return ControlDecision.objects.visible_to(self.request.user).order_by("-step_at", "-pk")
