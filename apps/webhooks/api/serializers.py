"""Serializers for webhooks and their deliveries; the secret appears only where it is issued."""

from django.core.validators import URLValidator
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied

from apps.accounts.models import Team
from apps.kernel.api import RejectUnknownFieldsMixin
from apps.kernel.fields import BoundedListField
from apps.webhooks import services
from apps.webhooks.models import Webhook, WebhookDelivery, WebhookEvent
from apps.webhooks.permissions import is_team_sre


class WebhookSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """A webhook; `team` is the team's slug. The secret is never part of it."""

    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    url = serializers.URLField(
        max_length=2000,
        validators=[URLValidator(schemes=["http", "https"], message="use an http or https URL")],
    )
    events = BoundedListField(
        max_length=len(WebhookEvent.choices),
        child=serializers.ChoiceField(choices=WebhookEvent.choices),
        allow_empty=False,
        help_text="any of " + ", ".join(WebhookEvent.values),
    )
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Webhook
        fields = ["id", "team", "url", "events", "active", "created_by", "created_at"]

    def validate_team(self, team):
        """Webhooks are created in a team where the user is SRE, and never move."""
        if self.instance is not None and team != self.instance.team:
            raise serializers.ValidationError("a webhook cannot move to another team")
        if not is_team_sre(self.context["request"].user, team):
            raise PermissionDenied(f"team: you need the sre role in team {team.slug!r}")
        return team

    def validate_events(self, events):
        """Each event once, in the order WebhookEvent lists them."""
        return [event for event in WebhookEvent.values if event in events]


class WebhookWithSecretSerializer(WebhookSerializer):
    """A webhook and its signing secret: only the create and rotate-secret responses carry it."""

    secret = serializers.SerializerMethodField(
        help_text="shown once: store it now; rotate-secret issues a new one"
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]

    def get_secret(self, webhook) -> str:
        """The derived secret."""
        return services.secret_of(webhook)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    """One event sent to one webhook, and how its last attempt went."""

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "webhook",
            "event",
            "delivery_id",
            "payload",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "created_at",
            "delivered_at",
            "next_attempt_at",
        ]
        read_only_fields = fields
