"""App config for actuation."""

from django.apps import AppConfig


class ActuationConfig(AppConfig):
    """Applies approved plans to their deployment targets, step by step, reversibly."""

    name = "apps.actuation"
