"""One log stream for web, workers and beat: the config, and the ids every record carries.

`config(log_format, level)` is the `logging.config.dictConfig` of every process: Django's
`LOGGING`, gunicorn's `logconfig_dict` (gunicorn.conf.py) and Celery's worker and beat
(controlplane/logging_celery.py). With `json` each line is one object: `time`, `level`,
`logger`, `message`, `process`, then `request_id` on a web request's records, `task_id` and
`task_name` on a task's, and gunicorn's access records' fields (`method`, `path`, `status`,
`duration_ms`, ...).

The ids live in context variables, set by `RequestIdMiddleware` for a request and by Celery's
task signals for a task, and copied onto each record by `ContextFilter`. The standard library
only: gunicorn's master reads this module before Django is set up.
"""

import logging
import logging.config
import os
import re
import uuid
from contextvars import ContextVar
from typing import Any

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
task_id: ContextVar[str | None] = ContextVar("task_id", default=None)
task_name: ContextVar[str | None] = ContextVar("task_name", default=None)

# An incoming X-Request-ID is kept when it looks like an id (a proxy's or a client's), else a new
# one is made: nothing odd from outside reaches the logs or the response header.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:+=/-]{8,128}")
REQUEST_ID_HEADER = "X-Request-ID"

JSON_FIELDS = "%(levelname)s %(name)s %(message)s %(process)d"
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
CONTEXT_FIELDS = ("request_id", "task_id", "task_name")


def log_format(environ: dict[str, str] | None = None) -> str:
    """`BALLAST_LOG_FORMAT`, by default `json` under the production profile and `plain` elsewhere.

    Raises:
        ValueError: the variable names another format.
    """
    environ = os.environ if environ is None else environ
    production = environ.get("BALLAST_SETTINGS_PROFILE") == "production"
    chosen = environ.get("BALLAST_LOG_FORMAT") or ("json" if production else "plain")
    if chosen not in ("json", "plain"):
        raise ValueError(f"BALLAST_LOG_FORMAT must be 'json' or 'plain', got {chosen!r}")
    return chosen


def config(log_format: str, level: str) -> dict[str, Any]:
    """The dictConfig of every Ballast process: one handler on stderr, in `log_format`."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "controlplane.logging_setup.ContextFilter"},
            "access": {"()": "controlplane.logging_setup.AccessFilter"},
        },
        "formatters": {
            "plain": {"()": "controlplane.logging_setup.PlainFormatter", "format": PLAIN_FORMAT},
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "format": JSON_FIELDS,
                "timestamp": "time",
                "rename_fields": {"levelname": "level", "name": "logger"},
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # gunicorn's own loggers do not propagate: only this handler writes them.
            "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
            "gunicorn.access": {
                "handlers": ["console"],
                "level": "INFO",
                "propagate": False,
                "filters": ["access"],
            },
            "cmdstanpy": {"level": "WARNING"},
        },
    }


def apply(logging_config: dict[str, Any]) -> None:
    """Configure logging (Django's LOGGING_CONFIG), Python's warnings included."""
    logging.config.dictConfig(logging_config)
    logging.captureWarnings(True)


class ContextFilter(logging.Filter):
    """Copies the request's or task's ids onto each record that passes the handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add `request_id`, `task_id` and `task_name` where they are known; keep every record."""
        for name, var in (
            ("request_id", request_id),
            ("task_id", task_id),
            ("task_name", task_name),
        ):
            value = var.get()
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        # Celery's worker logs a task's receipt and outcome outside the task, naming it in `data`.
        data = getattr(record, "data", None)
        if isinstance(data, dict) and not hasattr(record, "task_id") and "id" in data:
            record.task_id = str(data["id"])
            record.task_name = str(data.get("name", ""))
        return True


class AccessFilter(logging.Filter):
    """Gunicorn's access records as fields, the request id taken from the response's header."""

    ATOMS = {
        "method": "m",
        "path": "U",
        "query": "q",
        "status": "s",
        "response_bytes": "B",
        "remote_addr": "h",
        "user_agent": "a",
    }

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the fields of an access record (its args are gunicorn's atoms); keep every record."""
        atoms = record.args
        if not isinstance(atoms, dict):
            return True
        for field, atom in self.ATOMS.items():
            value = atoms.get(atom)
            if value not in (None, "-", ""):
                # gunicorn escapes quotes for its text format; the JSON encoder escapes its own.
                setattr(
                    record, field, value.replace('\\"', '"') if isinstance(value, str) else value
                )
        if isinstance(atoms.get("D"), int):
            record.duration_ms = round(atoms["D"] / 1000, 3)
        if isinstance(getattr(record, "status", None), str) and record.status.isdigit():
            record.status = int(record.status)
        given = atoms.get("{x-request-id}o")
        if isinstance(given, str) and given != "-":
            record.request_id = given
        return True


class PlainFormatter(logging.Formatter):
    """The plain lines, with the request's or task's ids at the end when there are any."""

    def format(self, record: logging.LogRecord) -> str:
        """The line, then ` [request_id=...]` or ` [task_id=... task_name=...]`."""
        line = super().format(record)
        ids = [
            f"{name}={getattr(record, name)}" for name in CONTEXT_FIELDS if hasattr(record, name)
        ]
        return f"{line} [{' '.join(ids)}]" if ids else line


class RequestIdMiddleware:
    """Each request's id: a well-formed incoming X-Request-ID or a new one, echoed in the response.

    First in MIDDLEWARE. The id stays bound until Django's `request_finished`, so the records
    logged after the middleware returns carry it too (Django's own `django.request` warnings);
    gunicorn's access record reads it back from the response.
    """

    def __init__(self, get_response):
        from django.core.signals import request_finished

        self.get_response = get_response
        request_finished.connect(_request_finished, dispatch_uid="ballast-request-id")

    def __call__(self, request):
        """Bind the request's id, run the request, answer with the id in X-Request-ID."""
        given = request.headers.get(REQUEST_ID_HEADER, "")
        rid = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        request_id.set(rid)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = rid
        return response


def _request_finished(**_) -> None:
    request_id.set(None)


def bind_task(id_: str | None, name: str | None) -> None:
    """The task now running in this process or thread: its records carry its id and name."""
    task_id.set(id_)
    task_name.set(name)


def unbind_task() -> None:
    """No task is running any more."""
    task_id.set(None)
    task_name.set(None)
