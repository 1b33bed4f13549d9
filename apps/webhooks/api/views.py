"""Webhooks API: a team's SREs manage its webhooks; members and FinOps read them and deliveries."""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apps.accounts.permissions import TokenScopesCover
from apps.webhooks import services
from apps.webhooks.api.serializers import (
    WebhookDeliverySerializer,
    WebhookSerializer,
    WebhookWithSecretSerializer,
)
from apps.webhooks.models import Webhook, WebhookDelivery
from apps.webhooks.permissions import IsTeamSREOrReadOnly

SIGNATURE_DOC = """
Ballast POSTs a JSON body `{"id", "event", "created_at", "data"}` to the URL with these headers:

- `Content-Type: application/json`
- `X-Ballast-Event`: `plan.proposed`, `plan.approved` or `plan.applied`
- `X-Ballast-Delivery`: the delivery's UUID, the same on every attempt (deduplicate on it)
- `X-Ballast-Timestamp`: unix seconds when the attempt was sent
- `X-Ballast-Signature`: `sha256=` + hex HMAC-SHA256, keyed with the secret, over
  `"{timestamp}." + raw body`

Check the signature with a constant-time comparison and refuse timestamps more than five minutes
old. A 2xx answer within 10 s delivers the event; timeouts, connection errors, 408, 429 and 5xx
are retried with exponential backoff (10 s, 20 s, 40 s ... up to 10 min, plus jitter; 8 attempts);
other answers, redirects included, fail the delivery at once.
"""

SECRET_EXAMPLE = OpenApiExample(
    "created",
    value={
        "id": 7,
        "team": "ml-platform",
        "url": "https://hooks.example.com/ballast",
        "events": ["plan.proposed", "plan.approved", "plan.applied"],
        "active": True,
        "created_by": "alice",
        "created_at": "2026-11-01T09:00:00Z",
        "secret": "3f1c9a0e5b7d4c2a8e6f0b1d3c5a7e9f2b4d6f8a0c1e3a5b7d9f1b3d5f7a9c1e",
    },
    response_only=True,
)


@extend_schema_view(
    list=extend_schema(description="Webhooks of the teams you belong to (all for FinOps)."),
    create=extend_schema(
        description="Register a webhook (sre role in its team). The response carries the "
        "signing secret, shown only this once.\n" + SIGNATURE_DOC,
        responses={201: WebhookWithSecretSerializer},
        examples=[
            OpenApiExample(
                "subscribe to every plan event",
                value={
                    "team": "ml-platform",
                    "url": "https://hooks.example.com/ballast",
                    "events": ["plan.proposed", "plan.approved", "plan.applied"],
                },
                request_only=True,
            ),
            SECRET_EXAMPLE,
        ],
    ),
    partial_update=extend_schema(description="Change url, events or active; the secret stays."),
    destroy=extend_schema(description="Delete the webhook and its delivery history."),
)
class WebhookViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Signed POSTs of plan events to a team's endpoint; PATCH updates, PUT is not offered."""

    serializer_class = WebhookSerializer
    permission_classes = [IsAuthenticated, IsTeamSREOrReadOnly, TokenScopesCover]
    filterset_fields = ["active"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        """Visible webhooks with their team."""
        return Webhook.objects.visible_to(self.request.user).select_related("team", "created_by")

    def create(self, request, *args, **kwargs):
        """Create and answer with the secret, the only time besides rotate-secret."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        webhook = services.create_webhook(**serializer.validated_data, by=request.user)
        data = WebhookWithSecretSerializer(webhook, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        """Apply the changed settings."""
        fields = {k: v for k, v in serializer.validated_data.items() if k != "team"}
        serializer.instance = services.update_webhook(webhook=serializer.instance, **fields)

    def perform_destroy(self, instance):
        """Delete through the service."""
        services.delete_webhook(webhook=instance)

    @extend_schema(
        request=None,
        responses=WebhookWithSecretSerializer,
        description="Issue a new signing secret (sre role in the team). The old one stops "
        "working at once, for attempts not yet sent too; the response shows the new one once.",
        examples=[SECRET_EXAMPLE],
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new salt, hence a new secret, returned this once."""
        webhook = services.rotate_secret(webhook=self.get_object())
        data = WebhookWithSecretSerializer(webhook, context=self.get_serializer_context()).data
        return Response(data)


class WebhookDeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    """Deliveries of visible webhooks, newest first; ?webhook=7&status=failed&event=..."""

    serializer_class = WebhookDeliverySerializer
    filterset_fields = ["webhook", "status", "event"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        """Deliveries of the webhooks the user may see."""
        return WebhookDelivery.objects.visible_to(self.request.user)
