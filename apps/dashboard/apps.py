"""App config for the dashboard."""

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """Pages for FinOps staff and SREs."""

    name = "apps.dashboard"
