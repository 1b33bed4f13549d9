"""Webhooks: team endpoints told about plan events, and each delivery of one event to one of them.

No signing secret is stored: it is derived from SECRET_KEY and the webhook's id and public
`salt` (see `apps.webhooks.signing`), so a database dump alone cannot forge a signature.
"""

import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import models

from apps.accounts.models import TeamOwnedQuerySet


class WebhookEvent(models.TextChoices):
    """What a webhook may subscribe to; the value is sent as X-Ballast-Event."""

    PLAN_PROPOSED = "plan.proposed"
    PLAN_APPROVED = "plan.approved"
    PLAN_APPLIED = "plan.applied"


def new_salt() -> str:
    """A fresh public salt; changing it changes the derived secret."""
    return secrets.token_hex(16)


def validate_events(events) -> None:
    """A non-empty list of known event names."""
    if not isinstance(events, list) or not events:
        raise ValidationError("give a non-empty list of event names")
    unknown = sorted(set(map(str, events)) - set(WebhookEvent.values))
    if unknown:
        raise ValidationError(f"unknown events {unknown}; known: {WebhookEvent.values}")


WebhookQuerySet = TeamOwnedQuerySet


class Webhook(models.Model):
    """An endpoint of one team that receives signed POSTs when its plans change state."""

    team = models.ForeignKey("accounts.Team", models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=2000, validators=[URLValidator(schemes=["http", "https"])])
    # A list rather than an ArrayField: the demo runs on SQLite too.
    events = models.JSONField(validators=[validate_events], help_text="subscribed event names")
    active = models.BooleanField(default=True)
    salt = models.CharField(max_length=32, default=new_salt, help_text="public; not a secret")
    # A webhook is team configuration, not an audit record: it outlives the user who added it.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    objects = WebhookQuerySet.as_manager()

    class Meta:
        ordering = ["team", "id"]

    def __str__(self) -> str:
        return f"{self.team_id and self.team.slug}: {self.url}"


class WebhookDeliveryQuerySet(models.QuerySet):
    """Reads scoped like the webhooks."""

    def visible_to(self, user):
        """Deliveries of the webhooks the user may see."""
        return self.filter(webhook__in=Webhook.objects.visible_to(user))


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one webhook, with the outcome of its last attempt."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    webhook = models.ForeignKey(Webhook, models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32, choices=WebhookEvent)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} to webhook {self.webhook_id} ({self.status})"
