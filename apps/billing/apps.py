"""App config for billing."""

from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Billed cost per day, allocated to workloads by their cost allocation tag."""

    name = "apps.billing"
