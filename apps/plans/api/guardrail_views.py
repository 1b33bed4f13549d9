"""Guardrails and the changes to them that wait for a second person (`plans.guardrail_changes`)."""

from django.db.models import Q
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.response import Response

from apps.accounts import roles
from apps.accounts.models import Team
from apps.plans import guardrail_changes
from apps.plans.api.serializers import DecisionSerializer, GuardrailSerializer
from apps.plans.api.views import via
from apps.plans.guardrail_changes import EDITABLE, values_of
from apps.plans.lifecycle import PlanError
from apps.plans.models import Guardrail, GuardrailChange
from apps.workloads.api.serializers import WorkloadField


class GuardrailChangeSerializer(serializers.ModelSerializer):
    """A change to a guardrail that loosens it, pending until a second person decides."""

    team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    proposed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    values = serializers.JSONField(
        read_only=True, allow_null=True, help_text="after; null: removed"
    )
    before = serializers.JSONField(read_only=True, allow_null=True, help_text="null: none yet")
    loosened = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="the rules it loosens"
    )

    class Meta:
        model = GuardrailChange
        fields = [
            "id",
            "team",
            "workload",
            "status",
            "values",
            "before",
            "loosened",
            "proposed_by",
            "proposed_at",
            "expires_at",
            "reason",
            "decided_by",
            "decided_at",
            "comment",
        ]
        read_only_fields = fields


class GuardrailConflict(APIException):
    """A decision on a change that is no longer pending, stale or expired."""

    status_code = 409
    default_code = "conflict"


def refused(exc: PlanError) -> APIException:
    """403 for who may not, 409 for a change no longer pending, stale or expired."""
    return PermissionDenied(exc.reason) if exc.status_code == 403 else GuardrailConflict(exc.reason)


def visible_to(rows, user):
    """Rows of a team's or a workload's guardrail that `user` may read."""
    if roles.reads_all_teams(user):
        return rows
    teams = roles.readable_team_ids(user)
    return rows.filter(Q(team__in=teams) | Q(workload__team__in=teams))


CHANGED = OpenApiResponse(
    GuardrailChangeSerializer,
    description="the change loosens a rule (`loosened`): it waits, pending, for a second person "
    "at /api/v1/guardrail-changes/{id}/approve/",
)
REFUSAL = OpenApiResponse(description="refused: 403 names the missing role, scope or person")
WRITE_RULE = (
    " A change that loosens any rule (a higher budget or limit, a lower minimum, more purchase "
    "options, change windows open at a minute that was closed, auto-approve on, or removing the "
    "guardrail) is not applied: "
    "the answer is 202 with a pending guardrail change for a second person. A change that only "
    "tightens applies at once."
)


class TeamGuardrailSerializer(GuardrailSerializer):
    """A team's guardrail: the team's slug, no workload (for the schema's `oneOf`)."""

    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())

    class Meta(GuardrailSerializer.Meta):
        fields = [f for f in GuardrailSerializer.Meta.fields if f != "workload"]


class WorkloadGuardrailSerializer(GuardrailSerializer):
    """One workload's guardrail: the workload's id, no team (for the schema's `oneOf`)."""

    workload = WorkloadField()

    class Meta(GuardrailSerializer.Meta):
        fields = [f for f in GuardrailSerializer.Meta.fields if f != "team"]


# Exactly one of team and workload, as the schema can say it: one of two bodies.
NEW_GUARDRAIL = PolymorphicProxySerializer(
    component_name="NewGuardrail",
    serializers=[TeamGuardrailSerializer, WorkloadGuardrailSerializer],
    resource_type_field_name=None,
)


@extend_schema_view(
    create=extend_schema(
        request=NEW_GUARDRAIL,
        responses={201: GuardrailSerializer, 202: CHANGED, 403: REFUSAL},
        description="Set a team's or a workload's guardrail." + WRITE_RULE,
    ),
    update=extend_schema(
        responses={200: GuardrailSerializer, 202: CHANGED, 403: REFUSAL},
        description="Change a guardrail." + WRITE_RULE,
    ),
    partial_update=extend_schema(
        responses={200: GuardrailSerializer, 202: CHANGED, 403: REFUSAL},
        description="Change some fields of a guardrail." + WRITE_RULE,
    ),
    destroy=extend_schema(
        responses={204: None, 202: CHANGED, 403: REFUSAL},
        description="Remove a guardrail." + WRITE_RULE,
    ),
)
class GuardrailViewSet(viewsets.ModelViewSet):
    """Budget, scale step, minimum replicas, purchase options, change windows, auto-approve.

    One row per team or per workload (whose set fields override its team's). Set by the team's
    SREs or FinOps; read by the team and FinOps. Every change is on the audit trail with what
    it was and is; one that loosens a rule needs a second person (`guardrail_changes`).
    """

    queryset = Guardrail.objects.none()  # for the schema; get_queryset scopes the rows
    serializer_class = GuardrailSerializer
    filterset_fields = ["team", "workload"]

    def get_queryset(self):
        """Guardrails of visible teams and workloads."""
        return visible_to(Guardrail.objects.select_related("team", "workload"), self.request.user)

    def create(self, request, *args, **kwargs):
        """Set now, or propose when it loosens what is in effect."""
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        values = values_of(Guardrail(**{f: data[f] for f in EDITABLE if f in data}))
        return self._change(data.get("team"), data.get("workload"), values, status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        """Change now, or propose when it loosens a rule."""
        row = self.get_object()
        form = self.get_serializer(row, data=request.data, partial=partial)
        form.is_valid(raise_exception=True)
        candidate = Guardrail(**values_of(row))
        for name in EDITABLE:
            if name in form.validated_data:
                setattr(candidate, name, form.validated_data[name])
        return self._change(row.team, row.workload, values_of(candidate), status.HTTP_200_OK)

    def destroy(self, request, *args, **kwargs):
        """Remove now, or propose the removal when the guardrail limits anything."""
        row = self.get_object()
        return self._change(row.team, row.workload, None, status.HTTP_204_NO_CONTENT)

    def _change(self, team, workload, values, applied_status: int) -> Response:
        try:
            row, change = guardrail_changes.change_guardrail(
                team=team,
                workload=workload,
                values=values,
                by=self.request.user,
                via=via(self.request),
            )
        except PlanError as exc:
            raise refused(exc) from exc
        if change is not None:
            body = GuardrailChangeSerializer(change).data
            return Response(body, status=status.HTTP_202_ACCEPTED)
        if row is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(GuardrailSerializer(row).data, status=applied_status)


DECIDED = {
    200: GuardrailChangeSerializer,
    403: REFUSAL,
    409: OpenApiResponse(
        description="no longer pending, stale (the guardrail changed since) or expired"
    ),
}


@extend_schema_view(
    list=extend_schema(
        description="Guardrail changes of the teams you can read, newest first; "
        "filter `status=pending` for those waiting for a decision."
    ),
)
class GuardrailChangeViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Changes that loosen a guardrail: approve (a second person) or reject them."""

    queryset = GuardrailChange.objects.none()  # for the schema; get_queryset scopes the rows
    serializer_class = GuardrailChangeSerializer
    filterset_fields = ["status", "team", "workload"]

    def get_queryset(self):
        """Changes of visible teams and workloads."""
        rows = GuardrailChange.objects.select_related("team", "proposed_by", "decided_by")
        return visible_to(rows, self.request.user)

    @extend_schema(
        request=DecisionSerializer,
        responses=DECIDED,
        examples=[OpenApiExample("approve", value={"comment": "budget agreed with FinOps"})],
        description="Apply the change: someone other than the proposer, an SRE of the owning "
        "team or FinOps, with at least one SRE of that team among the two (guardrails:approve "
        "for tokens). Refused (409) if the guardrail changed since the proposal or it expired.",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve and apply a pending change."""
        return self._decide(request, guardrail_changes.approve_change)

    @extend_schema(
        request=DecisionSerializer,
        responses=DECIDED,
        description="Withdraw your own change, or reject one (the owning team's SREs, FinOps).",
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject or withdraw a pending change."""
        return self._decide(request, guardrail_changes.reject_change)

    def _decide(self, request, decide) -> Response:
        change = self.get_object()  # 404 for changes the user cannot see
        form = DecisionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            change = decide(
                change.pk,
                user=request.user,
                credential=request.auth,
                via=via(request),
                comment=form.validated_data["comment"],
            )
        except PlanError as exc:
            raise refused(exc) from exc
        return Response(GuardrailChangeSerializer(change).data)
