"""App config for simulations."""

from django.apps import AppConfig


class SimulationsConfig(AppConfig):
    """What-if runs, savings replays and the modelled latency of a workload's capacity."""

    name = "apps.simulations"
