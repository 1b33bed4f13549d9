"""Forecast runs: request one, poll it, read its points."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from apps.forecasts import services
from apps.forecasts.api.serializers import ForecastPointsSerializer, ForecastRunSerializer
from apps.forecasts.models import ForecastRun
from apps.kernel.problems import Refused


class ForecastRunViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """POST queues a run (202-style: it answers with the queued run); GET polls it."""

    serializer_class = ForecastRunSerializer
    filterset_fields = ["workload", "series", "model", "status"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        """Runs of visible workloads, without their arrays."""
        return ForecastRun.objects.visible_to(self.request.user).defer("mean", "quantile_values")

    def perform_create(self, serializer):
        """Queue the run on the queue its model needs."""
        data = serializer.validated_data
        serializer.instance = services.request_forecast(
            workload=data["workload"],
            series=data.get("series", "requests"),
            model=data.get("model", ForecastRun.Model.AUTO),
            horizon=data["horizon"],
            quantiles=data.get("quantiles", services.DEFAULT_QUANTILES),
            seed=data.get("seed", 0),
            by=self.request.user,
        )

    @extend_schema(
        responses={
            200: ForecastPointsSerializer,
            409: OpenApiResponse(description="The run has not succeeded (yet): poll it."),
        }
    )
    @action(detail=True, methods=["get"])
    def points(self, request, pk=None):
        """The forecast of a succeeded run, in columns."""
        run = get_object_or_404(ForecastRun.objects.visible_to(request.user), pk=pk)  # 'abc': 404
        if run.status != ForecastRun.Status.SUCCEEDED:
            detail = f"run {run.pk} is {run.status}: {run.message or 'no result yet'}"
            raise Refused(detail, status=status.HTTP_409_CONFLICT, code="conflict")
        return Response(
            {
                "interval_s": run.interval_s,
                "timestamps": [ts.isoformat().replace("+00:00", "Z") for ts in run.timestamps()],
                "mean": run.mean,
                "quantiles": run.quantile_values,
            }
        )
