"""App config for workloads."""

from django.apps import AppConfig


class WorkloadsConfig(AppConfig):
    """Inference workloads and what is known about them."""

    name = "apps.workloads"
