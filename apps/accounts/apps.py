"""App config for accounts."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Teams and team-scoped roles."""

    name = "apps.accounts"
