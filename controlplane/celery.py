"""The Celery app: configured from the settings, one Kombu queue per `apps.kernel.tasks.Queue`."""

import os

from celery import Celery
from kombu import Queue as KombuQueue

from apps.kernel.tasks import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")


app = Celery("ballast")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [KombuQueue(queue.value) for queue in Queue]
app.conf.task_default_queue = Queue.CPU.value
app.autodiscover_tasks()

import controlplane.metrics  # noqa: E402, F401  (Celery signal handlers: task durations)
