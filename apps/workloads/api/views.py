"""Workloads API: each user sees their teams' rows; sre and ci members write them."""

from django.conf import settings
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from knox.models import AuthToken
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apps.accounts.permissions import CanWriteOwningTeam, TokenScopesCover
from apps.kernel.parsers import MultiPartParser
from apps.workloads import services
from apps.workloads.api import metric_serializers as ms
from apps.workloads.api import serializers as s
from apps.workloads.api.announced import AnnouncedChangesMixin
from apps.workloads.api.filters import (
    MetricObservationFilterSet,
    ModelVariantFilterSet,
    TraceImportFilterSet,
    WorkloadFilterSet,
)
from apps.workloads.ingest import parse_points
from apps.workloads.models import (
    SLA,
    DeploymentTarget,
    MetricObservation,
    MetricSource,
    ModelVariant,
    TraceImport,
    Workload,
)
from apps.workloads.signals import (
    ChangeRefused,
    describe_target,
    target_changed,
    target_changing,
)

TARGET_REFUSAL = OpenApiResponse(
    description="refused: a plan of the target's workload is being applied; retry once it ends"
)


class TeamScopedViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """CRUD over rows of the user's teams; other teams' rows do not exist for the user."""

    permission_classes = [IsAuthenticated, CanWriteOwningTeam, TokenScopesCover]
    model = None

    def get_queryset(self):
        """Rows the user may see."""
        return self.model.objects.visible_to(self.request.user)


@extend_schema_view(
    create=extend_schema(
        examples=[
            OpenApiExample(
                "CI registers an online workload",
                value={"team": "ml-platform", "name": "ranker", "kind": "online"},
                request_only=True,
            )
        ]
    ),
    partial_update=extend_schema(
        examples=[
            OpenApiExample(
                "CI updates the description", value={"description": "v2"}, request_only=True
            )
        ]
    ),
)
class WorkloadViewSet(AnnouncedChangesMixin, TeamScopedViewSet):
    """Workloads, plus bulk metric ingest and series reads."""

    model = Workload
    audit_subject = "workload"
    serializer_class = s.WorkloadSerializer
    filterset_class = WorkloadFilterSet
    ordering_fields = ["name", "created_at"]

    def get_queryset(self):
        """Visible workloads with their team."""
        return super().get_queryset().select_related("team")

    @extend_schema(
        methods=["post"],
        request=ms.MetricBatchSerializer,
        responses={201: ms.IngestResultSerializer},
        description=(
            "Upsert points of one series. Points must be in strictly increasing time order, with "
            f"time zones and finite values; at most {settings.MAX_POINTS_PER_REQUEST} points and "
            f"{settings.MAX_REQUEST_BYTES} bytes a request. A point at an existing timestamp "
            "replaces the stored value. Nothing is stored when any point is refused."
        ),
        examples=[
            OpenApiExample(
                "CI pushes request counts per minute",
                value={
                    "series": "requests",
                    "points": [
                        {"ts": "2026-11-01T00:00:00Z", "value": 4210},
                        {"ts": "2026-11-01T00:01:00Z", "value": 4388},
                    ],
                },
                request_only=True,
            )
        ],
    )
    @extend_schema(
        methods=["get"],
        parameters=[
            OpenApiParameter("series", OpenApiTypes.STR, required=True),
            OpenApiParameter("start", OpenApiTypes.DATETIME),
            OpenApiParameter("end", OpenApiTypes.DATETIME, description="exclusive"),
        ],
        responses=ms.SeriesSerializer,
        description="One series in columns, oldest first, at most the per-request point limit.",
    )
    @action(detail=True, methods=["get", "post"])
    def metrics(self, request, pk=None):
        """POST: bulk ingest; GET: read a series back in columns."""
        workload = self.get_object()
        if request.method == "GET":
            return self._read_series(workload, request.query_params)
        series = ms.SeriesNameSerializer(data=request.data)
        series.is_valid(raise_exception=True)
        points = parse_points(request.data.get("points"))
        result = services.ingest_observations(
            workload=workload, series=series.validated_data["series"], points=points
        )
        return Response(ms.IngestResultSerializer(result).data, status=status.HTTP_201_CREATED)

    def _read_series(self, workload, params):
        query = ms.SeriesQuerySerializer(data=params)
        query.is_valid(raise_exception=True)
        rows = MetricObservation.objects.filter(
            workload=workload, series=query.validated_data["series"]
        )
        if start := query.validated_data.get("start"):
            rows = rows.filter(ts__gte=start)
        if end := query.validated_data.get("end"):
            rows = rows.filter(ts__lt=end)
        limit = settings.MAX_POINTS_PER_REQUEST
        pairs = list(rows.order_by("ts").values_list("ts", "value")[: limit + 1])
        if len(pairs) > limit:
            raise ValidationError(
                {"start": [f"the range holds more than {limit} points: narrow start and end"]}
            )
        return Response(
            {
                "series": query.validated_data["series"],
                "timestamps": [ts.isoformat().replace("+00:00", "Z") for ts, _ in pairs],
                "values": [value for _, value in pairs],
            }
        )


class SLAViewSet(AnnouncedChangesMixin, TeamScopedViewSet):
    """SLAs, one per workload."""

    model = SLA
    audit_subject = "sla"
    serializer_class = s.SLASerializer
    filterset_fields = ["workload"]


@extend_schema_view(
    create=extend_schema(
        examples=[
            OpenApiExample(
                "CI registers a model version with its measured capacity",
                value={
                    "workload": 3,
                    "name": "ranker-small",
                    "version": "2026.11.2",
                    "accuracy": 0.905,
                    "memory_mb": 2048,
                    "capacity_profiles": [
                        {"instance_type": "c6i.xlarge", "max_rps": 60, "service_time_ms": 30}
                    ],
                },
                request_only=True,
            )
        ]
    )
)
class ModelVariantViewSet(AnnouncedChangesMixin, TeamScopedViewSet):
    """Model variants and their capacity profiles."""

    model = ModelVariant
    audit_subject = "variant"
    serializer_class = s.ModelVariantSerializer
    filterset_class = ModelVariantFilterSet

    def get_queryset(self):
        """Visible variants with their profiles."""
        return super().get_queryset().prefetch_related("capacity_profiles__instance_type")


class TargetChangeRefused(APIException):
    """409: a target may not change now (a plan of its workload is being applied)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


@extend_schema_view(
    create=extend_schema(responses={201: s.DeploymentTargetSerializer, 409: TARGET_REFUSAL}),
    update=extend_schema(responses={200: s.DeploymentTargetSerializer, 409: TARGET_REFUSAL}),
    partial_update=extend_schema(
        responses={200: s.DeploymentTargetSerializer, 409: TARGET_REFUSAL}
    ),
    destroy=extend_schema(responses={204: None, 409: TARGET_REFUSAL}),
)
class DeploymentTargetViewSet(TeamScopedViewSet):
    """Where workloads run.

    Every change is announced (`apps.workloads.signals`) and audited; it supersedes the open
    plans that froze the target, and is refused (409) while one of its workload's plans is
    applied.
    """

    model = DeploymentTarget
    serializer_class = s.DeploymentTargetSerializer
    filterset_fields = ["workload", "kind", "dry_run"]

    def perform_create(self, serializer):
        """Create, announced."""
        self._change(serializer.validated_data["workload"], None, serializer.save)

    def perform_update(self, serializer):
        """Change, announced."""
        target = serializer.instance
        self._change(target.workload, describe_target(target), serializer.save)

    def perform_destroy(self, instance):
        """Remove, announced."""
        self._change(instance.workload, describe_target(instance), lambda: instance.delete())

    def _change(self, workload, before, save):
        via = "token" if isinstance(self.request.auth, AuthToken) else "api"
        announced = {"workload": workload, "user": self.request.user, "via": via}
        with transaction.atomic():
            try:
                target_changing.send(DeploymentTarget, before=before, after=None, **announced)
            except ChangeRefused as exc:
                raise TargetChangeRefused(exc.reason) from exc
            saved = save()
            after = describe_target(saved) if isinstance(saved, DeploymentTarget) else None
            target_changed.send(DeploymentTarget, before=before, after=after, **announced)


class MetricObservationViewSet(viewsets.ReadOnlyModelViewSet):
    """Stored points, filterable and paginated; write them through /workloads/{id}/metrics/."""

    serializer_class = ms.MetricObservationSerializer
    filterset_class = MetricObservationFilterSet
    ordering_fields = ["ts"]

    def get_queryset(self):
        """Points of visible workloads."""
        return MetricObservation.objects.visible_to(self.request.user).order_by(
            "workload", "series", "ts"
        )


class TraceImportViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Upload a trace CSV (multipart `file`) to import it as observations in the background."""

    serializer_class = ms.TraceImportSerializer
    filterset_class = TraceImportFilterSet
    parser_classes = [MultiPartParser]  # a trace is a file: a form cannot carry one

    def get_queryset(self):
        """Imports into visible workloads."""
        return TraceImport.objects.visible_to(self.request.user).defer("content")

    def perform_create(self, serializer):
        """Store the file and queue the import task."""
        upload = serializer.validated_data["file"]
        serializer.instance = services.queue_trace_import(
            workload=serializer.validated_data["workload"],
            series=serializer.validated_data["series"],
            filename=upload.name,
            content=upload.content,
            by=self.request.user,
        )


@extend_schema_view(
    create=extend_schema(
        examples=[
            OpenApiExample(
                "An SRE pulls the request rate per minute from Prometheus",
                value={
                    "workload": 3,
                    "series": "requests",
                    "base_url": "http://prometheus.monitoring:9090",
                    "promql": 'sum(rate(http_requests_total{job="{workload}"}[1m]))',
                    "step_s": 60,
                    "lookback_h": 168,
                    "token_env": "BALLAST_PROM_TOKEN",
                },
                request_only=True,
            )
        ]
    )
)
class MetricSourceViewSet(AnnouncedChangesMixin, TeamScopedViewSet):
    """Prometheus queries that fill workloads' metric series, pulled by Celery beat."""

    model = MetricSource
    audit_subject = "metric_source"
    serializer_class = ms.MetricSourceSerializer
    filterset_fields = ["workload", "series", "enabled"]

    def get_queryset(self):
        """Visible sources with their workload."""
        return super().get_queryset().select_related("workload")

    @extend_schema(
        request=None,
        responses=ms.MetricSourceSerializer,
        description=(
            "Pull now, in this request: the new points are upserted and the source comes back "
            "with the outcome. A failed pull (timeout, error answer, no data, several series, "
            "NaN values, missing token variable) still answers 200: read `last_error`."
        ),
    )
    @action(detail=True, methods=["post"])
    def pull(self, request, pk=None):
        """Run one pull synchronously, enabled or not (e.g. to try a source before enabling)."""
        source = services.pull_metrics(self.get_object().pk)
        return Response(self.get_serializer(source).data)
