"""App config for forecasts."""

from django.apps import AppConfig


class ForecastsConfig(AppConfig):
    """Forecast runs and their results."""

    name = "apps.forecasts"
