"""The Celery app: configured from the settings, one Kombu queue per `apps.kernel.tasks.Queue`."""

import logging
import os

from celery import Celery, signals
from kombu import Queue as KombuQueue

from apps.kernel.tasks import Queue
from controlplane import broker, logging_celery, tracing
from controlplane.celery_state import PresenceStep
from controlplane.liveness import HeartbeatStep

log = logging.getLogger(__name__)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")


app = Celery("ballast")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [KombuQueue(queue.value) for queue in Queue]
app.conf.task_default_queue = Queue.CPU.value
# Liveness for probes: workers and beat touch $BALLAST_HEARTBEAT_FILE (controlplane/heartbeat.py).
app.steps["consumer"].add(HeartbeatStep)
app.conf.beat_scheduler = "controlplane.liveness:HeartbeatScheduler"
# ballast_celery_workers on /metrics: each worker keeps its presence per queue in Redis.
app.steps["consumer"].add(PresenceStep)
# Worker and beat log through Django's LOGGING, tasks' records with their ids.
logging_celery.install(app)
tracing.connect_celery()  # OpenTelemetry, when OTEL_EXPORTER_OTLP_ENDPOINT is set
app.autodiscover_tasks()


@signals.worker_init.connect
def put_back_interrupted_tasks(**kwargs) -> None:
    """The demo's broker: a worker starting puts back what a worker that died had taken."""
    if app.conf.broker_transport == broker.TRANSPORT:
        restored = broker.restore_in_flight(app.conf.broker_transport_options)
        if restored:
            log.warning("%s interrupted task(s) put back in the queue to run again", restored)


import controlplane.metrics  # noqa: E402, F401  (Celery signal handlers: task durations)
