"""Optimization runs, scaling plans and their actions, guardrails, schedules, the audit trail."""

import csv
import io
import json

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from knox.models import AuthToken
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apps.accounts import roles
from apps.accounts.permissions import CanWriteOwningTeam, TokenScopesCover
from apps.kernel.api import FilterSet, UtcDateTimeFilter
from apps.kernel.problems import Refused
from apps.plans import services
from apps.plans.api import serializers as s
from apps.plans.api.serializers import OptimizationRunSerializer
from apps.plans.models import AuditEvent, OptimizationRun, PlanSchedule, ScalingPlan


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

    def get_serializer_class(self):
        """Lists leave out each run's problem and front."""
        if self.action == "list":
            return s.OptimizationRunSummarySerializer
        return OptimizationRunSerializer

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


def via(request) -> str:
    """How the caller came: 'token' for API tokens, 'api' for a signed-in session."""
    return "token" if isinstance(request.auth, AuthToken) else "api"


def refused(exc: services.PlanError) -> APIException:
    """A refused plan action: 403 for who, 409 for state or guardrails, 400 for bad input."""
    if type(exc) is services.PlanError:
        return ValidationError(exc.reason)
    code = "permission_denied" if exc.status_code == 403 else "conflict"
    members = {"rule": exc.rule} if exc.rule else {}
    return Refused(exc.reason, status=exc.status_code, code=code, **members)


PLAN_EXAMPLE = OpenApiExample(
    "CI requests a plan",
    value={"workload": 3, "interval_s": 3600, "horizon_intervals": 24},
    request_only=True,
)
REFUSAL = OpenApiResponse(
    description="refused: 403 names the missing role or scope; 409 the state (expired, "
    "superseded, stale) or the guardrail (`rule`)"
)


@extend_schema_view(
    list=extend_schema(
        description="Plans of the workloads you can see, newest first, without their fronts "
        "(`front_size` says how many candidates `GET plans/{id}/` returns)."
    ),
    retrieve=extend_schema(description="One plan; poll it until `status` leaves `draft`."),
)
class ScalingPlanViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Request a plan, poll it, pick another candidate, approve or reject it, start its apply.

    States: draft -> proposed -> approved -> applying -> applied (or rejected, expired,
    superseded, failed, rolled_back). Approvals need four eyes: someone other than the
    requester with the sre role in the workload's team, or a CI token given the
    `plans:approve` scope. Webhooks fire on proposed, approved and applied.
    """

    serializer_class = s.ScalingPlanSerializer
    filterset_fields = ["workload", "status", "origin"]
    ordering_fields = ["created_at", "expires_at"]

    def get_serializer_class(self):
        """Lists leave out each plan's front: a page of them would carry every schedule."""
        return s.ScalingPlanSummarySerializer if self.action == "list" else s.ScalingPlanSerializer

    def get_queryset(self):
        """Plans of visible workloads."""
        return ScalingPlan.objects.visible_to(self.request.user).select_related(
            "requested_by", "decided_by", "chosen_by", "workload"
        )

    @extend_schema(
        request=s.PlanRequestSerializer,
        responses={202: s.ScalingPlanSerializer, 403: REFUSAL},
        examples=[PLAN_EXAMPLE],
        description="Queue a plan: forecast (a fresh stored one or a new one), optimization "
        "problem, Pareto front, recommended point. The plan starts as `draft` and becomes "
        "`proposed` (or `failed`/`rejected` with a `message`).",
    )
    def create(self, request):
        """Queue a plan for a workload."""
        form = s.PlanRequestSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        try:
            plan = services.request_plan(by=request.user, via=via(request), **form.validated_data)
        except services.PlanError as exc:
            raise refused(exc) from exc
        return Response(s.ScalingPlanSerializer(plan).data, status=status.HTTP_202_ACCEPTED)

    def _act(self, request, pk, action, form_class=s.DecisionSerializer):
        self.get_object()  # 404 for plans the user cannot see
        form = form_class(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            plan = action(
                int(pk),
                user=request.user,
                auth=request.auth,
                via=via(request),
                **form.validated_data,
            )
        except services.PlanError as exc:
            raise refused(exc) from exc
        return Response(s.ScalingPlanSerializer(plan).data)

    @extend_schema(
        request=s.DecisionSerializer,
        responses={200: s.ScalingPlanSerializer, 403: REFUSAL, 409: REFUSAL},
        examples=[OpenApiExample("approve", value={"comment": "fits the budget"})],
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve the chosen candidate (four eyes, sre role or the plans:approve scope)."""
        return self._act(request, pk, services.approve_plan)

    @extend_schema(
        request=s.DecisionSerializer,
        responses={200: s.ScalingPlanSerializer, 403: REFUSAL, 409: REFUSAL},
        examples=[OpenApiExample("reject", value={"comment": "traffic test tomorrow"})],
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject a proposed or approved plan."""
        return self._act(request, pk, services.reject_plan)

    @extend_schema(
        request=s.ChoiceSerializer,
        responses={200: s.ScalingPlanSerializer, 403: REFUSAL, 409: REFUSAL},
        examples=[
            OpenApiExample("choose", value={"candidate": 2, "reason": "launch week: less risk"})
        ],
    )
    @action(detail=True, methods=["post"])
    def choose(self, request, pk=None):
        """Pick another candidate of the front before approving; the reason is recorded."""

        def choose(plan_id, *, candidate, **kwargs):
            return services.choose_candidate(plan_id, candidate, **kwargs)

        return self._act(request, pk, choose, s.ChoiceSerializer)

    @extend_schema(
        request=None,
        responses={202: s.ScalingPlanSerializer, 403: REFUSAL, 409: REFUSAL},
        description="Start applying an approved plan (sre role or the plans:apply scope). "
        "Refused as stale when the live state changed since planning.",
    )
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        """Queue the apply of an approved plan."""
        self.get_object()
        try:
            plan = services.start_apply(
                int(pk), user=request.user, auth=request.auth, via=via(request)
            )
        except services.PlanError as exc:
            raise refused(exc) from exc
        return Response(s.ScalingPlanSerializer(plan).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={202: s.ScalingPlanSerializer, 403: REFUSAL, 409: REFUSAL},
        description="Return the targets of a failed or applied plan to the state recorded "
        "before its first step (sre role or the plans:apply scope); the plan becomes "
        "`rolled_back` once every target reads back.",
    )
    @action(detail=True, methods=["post"])
    def rollback(self, request, pk=None):
        """Queue the rollback of a failed or applied plan."""
        self.get_object()
        try:
            plan = services.start_rollback(
                int(pk), user=request.user, auth=request.auth, via=via(request)
            )
        except services.PlanError as exc:
            raise refused(exc) from exc
        return Response(s.ScalingPlanSerializer(plan).data, status=status.HTTP_202_ACCEPTED)


class PlanScheduleViewSet(viewsets.ModelViewSet):
    """Periodic plans: Celery beat requests one for the workload every `every_minutes`."""

    serializer_class = s.PlanScheduleSerializer
    permission_classes = [IsAuthenticated, CanWriteOwningTeam, TokenScopesCover]
    filterset_fields = ["workload", "enabled"]

    def get_queryset(self):
        """Schedules of visible workloads."""
        return PlanSchedule.objects.visible_to(self.request.user).select_related("requested_by")

    def perform_create(self, serializer):
        """Plans are requested in the creator's name."""
        serializer.save(requested_by=self.request.user)


class AuditEventFilter(FilterSet):
    """Filters of the audit trail."""

    since = UtcDateTimeFilter(field_name="at", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["team_id", "workload_id", "plan_id", "action", "actor", "via"]


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The append-only audit trail: every plan transition and apply step. No writes exist.

    Team members read their teams' events; FinOps reads all and exports CSV.
    """

    queryset = AuditEvent.objects.none()  # for the schema; get_queryset scopes the rows
    serializer_class = s.AuditEventSerializer
    filterset_class = AuditEventFilter

    def get_queryset(self):
        """Events of visible teams."""
        user = self.request.user
        if roles.reads_all_teams(user):
            return AuditEvent.objects.all()
        return AuditEvent.objects.filter(team_id__in=roles.readable_team_ids(user))

    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR},
        description="The filtered events as CSV (FinOps only); same filters as the list.",
    )
    @action(detail=False, methods=["get"], url_path="export")
    def export(self, request):
        """Stream the filtered trail as CSV, with no cell a spreadsheet would run as a formula.

        Comments, reasons and names in the trail come from users: a text cell starting with
        `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` (OWASP's advice on CSV
        injection), so a spreadsheet shows it as text. Numbers are written as they are.
        """
        if not roles.is_finops(request.user):
            raise PermissionDenied("exporting the audit trail is for FinOps")
        events = self.filter_queryset(self.get_queryset()).order_by("at", "pk")
        columns = s.AuditEventSerializer.Meta.fields

        def cell(value):
            if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
                return "'" + value
            return value

        def rows():
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(columns)
            for event in events.iterator(chunk_size=1000):
                writer.writerow(
                    [
                        cell(
                            json.dumps(event.detail, sort_keys=True)
                            if name == "detail"
                            else (event.at.isoformat() if name == "at" else getattr(event, name))
                        )
                        for name in columns
                    ]
                )
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
            yield buffer.getvalue()

        response = StreamingHttpResponse(rows(), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="ballast-audit.csv"'
        return response
