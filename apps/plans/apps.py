"""App config for plans."""

from django.apps import AppConfig


class PlansConfig(AppConfig):
    """Optimization runs (and, later, scaling plans)."""

    name = "apps.plans"
