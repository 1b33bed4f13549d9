"""Read-only views of the live controller, and the audited deletion of observations."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from knox.models import AuthToken
from rest_framework import viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import TokenScopesCover
from apps.control import observations
from apps.control.api.serializers import (
    ControlDecisionSerializer,
    ControllerSerializer,
    ObservationRangeSerializer,
    ObservationsDeletedSerializer,
)
from apps.control.models import ControlDecision, Controller
from apps.workloads.models import Workload


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


class ObservationDeletionView(APIView):
    """Delete a range of one series of a workload's observations, e.g. stray test points."""

    permission_classes = [IsAuthenticated, TokenScopesCover]

    @extend_schema(
        operation_id="workloads_observations_delete",
        request=ObservationRangeSerializer,
        responses={200: ObservationsDeletedSerializer},
        description=(
            "Delete the points of `series` with from <= ts < to, and record it in the audit "
            "trail (`observations.deleted`, no plan). The team's SREs, or its CI through a "
            "token given the `metrics:delete` scope; other teams' workloads answer 404."
        ),
        examples=[
            OpenApiExample(
                "An SRE removes two points posted at a test timestamp",
                value={
                    "series": "requests",
                    "from": "2026-11-01T00:00:00Z",
                    "to": "2026-11-01T00:02:00Z",
                    "comment": "test points",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request, pk):
        """Delete and audit, or refuse naming the field or the missing role."""
        workload = get_object_or_404(Workload.objects.visible_to(request.user), pk=pk)
        form = ObservationRangeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            result = observations.delete_observations(
                workload=workload,
                series=data["series"],
                start=data["from"],
                end=data["to"],
                user=request.user,
                credential=request.auth,
                via="token" if isinstance(request.auth, AuthToken) else "api",
                comment=data["comment"],
            )
        except observations.DeletionRefused as exc:
            raise PermissionDenied(str(exc)) from exc
        return Response(ObservationsDeletedSerializer(result).data)
