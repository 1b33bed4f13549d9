"""The project as a Django app, only to load the Celery app when Django sets up."""

from django.apps import AppConfig


class ControlplaneConfig(AppConfig):
    """Loads the Celery app at start, so that every task is sent through Ballast's configuration."""

    name = "controlplane"

    def ready(self):
        """Import the Celery app: `shared_task`s bind to the app current when they are sent."""
        import controlplane.celery  # noqa: F401
