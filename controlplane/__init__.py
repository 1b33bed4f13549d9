"""The Django project: settings, URLs and the Celery app.

Importing the package loads neither Django nor Celery, so that `python -m controlplane.heartbeat`
(a probe run every few seconds) stays light. The Celery app is loaded when Django sets up
(controlplane.apps), when a worker or beat names it (`celery -A controlplane`), or when
`controlplane.celery_app` is asked for.
"""

__all__ = ["celery_app"]


def __getattr__(name: str):
    """`controlplane.celery_app`, imported on first use."""
    if name == "celery_app":
        from controlplane.celery import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
