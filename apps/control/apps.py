"""App config for control."""

from django.apps import AppConfig


class ControlConfig(AppConfig):
    """The live controller: each step, a workload's policy on its newest metrics."""

    name = "apps.control"
