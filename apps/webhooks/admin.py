"""Admin for webhooks and deliveries (read-only: they change through the API and services)."""

from django.contrib import admin

from apps.webhooks.models import Webhook, WebhookDelivery


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shows rows; writes go through services, which validate and log them."""

    def has_add_permission(self, request) -> bool:
        """Created through the API."""
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        """Changed through the API."""
        return False


@admin.register(Webhook)
class WebhookAdmin(ReadOnlyAdmin):
    """Webhooks per team; the secret is derived, so there is none to show."""

    list_display = ["team", "url", "active", "created_at"]
    list_filter = ["active", "team"]
    exclude = ["salt"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """Deliveries and the outcome of their last attempt."""

    list_display = ["delivery_id", "webhook", "event", "status", "attempts", "created_at"]
    list_filter = ["status", "event"]
    list_select_related = ["webhook__team"]
