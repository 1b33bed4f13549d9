"""App config for the pricing catalog."""

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    """Prices and instance specs."""

    name = "apps.catalog"
