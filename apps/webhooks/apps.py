"""App config for webhooks."""

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Signed notifications of plan events to team endpoints."""

    name = "apps.webhooks"
