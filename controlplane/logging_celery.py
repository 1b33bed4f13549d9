"""Celery's worker and beat log through Django's LOGGING, each task's records naming the task.

- Celery's own logging setup is replaced (its `setup_logging` signal): the root logger keeps
  Django's handler and format, so the worker, its pool's children and beat write the same lines as
  the web (JSON under `BALLAST_LOG_FORMAT=json`). Their level is `BALLAST_LOG_LEVEL`, not `-l`.
  Anything a task prints to stdout becomes a record of the `celery.redirected` logger, as Celery
  does by default.
- Under JSON the start-up banners and the worker's warm-shutdown line, plain text on stdout,
  are left out (as `--quiet` would); the worker says the same in records instead.
- While a task runs, its records carry `task_id` and `task_name` (controlplane/logging_setup.py).
"""

import logging

from celery import signals
from django.conf import settings

from controlplane import logging_setup

log = logging.getLogger(__name__)


def install(app) -> None:
    """Under JSON, `celery beat` prints no banner: it prints before its logging is set up."""

    def beat(**options):
        from celery.apps.beat import Beat

        options["quiet"] = options.get("quiet") or settings.LOG_FORMAT == "json"
        return app.subclass_with_self(Beat)(**options)

    app.Beat = beat


@signals.setup_logging.connect
def use_django_logging(**_) -> None:
    """Configure the worker's or beat's logging from Django's LOGGING, not Celery's defaults."""
    from controlplane.celery import app

    logging_setup.apply(settings.LOGGING)
    if app.conf.worker_redirect_stdouts:
        app.log.redirect_stdouts_to_logger(
            logging.getLogger("celery.redirected"),
            loglevel=app.conf.worker_redirect_stdouts_level,
            stdout=True,
            stderr=False,  # the handler writes to stderr
        )


@signals.celeryd_after_setup.connect
def banner_as_a_record(sender=None, instance=None, **_) -> None:
    """Under JSON, the worker's banner (plain text on stdout) as one record instead."""
    if settings.LOG_FORMAT == "json" and instance is not None:
        instance.quiet = True
        queues = sorted(instance.app.amqp.queues.consume_from)
        log.info(
            "worker %s starting: queues %s, concurrency %s",
            sender,
            ",".join(queues),
            instance.concurrency,
            extra={"hostname": sender, "queues": queues, "concurrency": instance.concurrency},
        )


@signals.worker_ready.connect
def quiet_warm_shutdown(sender=None, **_) -> None:
    """Under JSON, a SIGTERM's plain "worker: Warm shutdown" line becomes a record."""
    if settings.LOG_FORMAT == "json" and sender is not None and sender.controller is not None:
        from celery.apps.worker import install_worker_term_handler

        install_worker_term_handler(sender.controller, verbose=False)


@signals.worker_shutting_down.connect
def log_shutdown(sender=None, sig=None, how=None, **_) -> None:
    """A worker's shutdown, as a record."""
    log.info("worker %s: %s shutdown on %s", sender, str(how).lower(), sig)


@signals.task_prerun.connect
def bind_task(task_id=None, task=None, **_) -> None:
    """The task about to run: its records carry its id and name."""
    logging_setup.bind_task(task_id, getattr(task, "name", None))


@signals.task_postrun.connect
def unbind_task(**_) -> None:
    """The task has finished."""
    logging_setup.unbind_task()
