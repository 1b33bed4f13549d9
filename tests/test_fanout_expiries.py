"""Beat's ticks and the tasks its fan-outs queue carry expiries, read from the real broker.

A backlog (workers down, a long forecast ahead) must not pile up stale ticks: each beat entry
expires before the next is sent, and each per-item task before the work it does is queued
again (the next tick, the sweeper).
"""

import base64
import json
import time
from datetime import datetime

import pytest
import redis
from celery.beat import ScheduleEntry, Scheduler
from django.conf import settings

from apps.kernel.tasks import Queue
from controlplane.celery import app as celery_app


@pytest.fixture
def broker():
    """The test Redis, every Celery queue emptied before and after."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queues = [queue.value for queue in Queue]
    client.delete(*queues)
    yield client
    client.delete(*queues)


def waiting(broker, queue: Queue) -> list[tuple[str, float, list]]:
    """(task, expires as unix seconds, args) of every message waiting on `queue`."""
    out = []
    for raw in broker.lrange(queue.value, 0, -1):
        message = json.loads(raw)
        headers = message["headers"]
        expires = headers["expires"] and datetime.fromisoformat(headers["expires"]).timestamp()
        out.append((headers["task"], expires, json.loads(base64.b64decode(message["body"]))[0]))
    return out


def everything_waiting(broker) -> list[tuple[str, float, list]]:
    return [message for queue in Queue for message in waiting(broker, queue)]


def test_every_beat_entry_is_sent_expiring_before_its_next_tick(broker):
    entries = settings.CELERY_BEAT_SCHEDULE
    scheduler = Scheduler(app=celery_app, lazy=True)
    for name, entry in entries.items():
        sent_at = time.time()
        scheduler.apply_async(ScheduleEntry(name=name, app=celery_app, **entry))
        [(task, expires, _)] = everything_waiting(broker)
        broker.delete(*[queue.value for queue in Queue])
        assert task == entry["task"]
        period = entry["schedule"]
        assert sent_at < expires < sent_at + min(period, 3600) + 1, name


def test_a_control_tick_queues_steps_that_expire_before_the_next_tick(broker, team_a):
    from apps.control import tasks
    from apps.control.models import Controller
    from apps.workloads.tests.factories import WorkloadFactory

    for name in ("a", "b", "c"):
        Controller.objects.create(workload=WorkloadFactory(team=team_a, name=name))
    sent_at = time.time()

    assert tasks.control_tick() == 3

    steps = waiting(broker, Queue.CONTROL)
    assert len(steps) == 3 and {task for task, _, _ in steps} == {tasks.control_step.name}
    for _, expires, _ in steps:
        assert sent_at < expires < sent_at + settings.CONTROL_STEP_S


def test_a_plan_chains_first_link_expires_when_the_sweeper_would_fail_the_draft(
    broker, online_workload, sre_user, django_capture_on_commit_callbacks
):
    from apps.plans import services, sweeper

    sent_at = time.time()
    with django_capture_on_commit_callbacks(execute=True):
        plan = services.request_plan(workload=online_workload, by=sre_user, via="test")

    [(task, expires, args)] = waiting(broker, Queue.CPU)
    assert (task, args) == ("apps.plans.tasks.forecast_for_plan", [plan.pk])
    stuck_s = sweeper.DRAFT_STUCK_AFTER.total_seconds()
    assert sent_at + stuck_s - 5 < expires <= time.time() + stuck_s


def test_webhook_deliveries_expire_when_the_sweeper_would_queue_them_again(
    broker, team_a, django_capture_on_commit_callbacks
):
    from apps.webhooks import services
    from apps.webhooks.models import Webhook

    Webhook.objects.create(team=team_a, url="https://hooks.example.com/x", events=["plan.proposed"])
    sent_at = time.time()
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = services.emit("plan.proposed", team_id=team_a.pk, payload={})

    [(task, expires, args)] = waiting(broker, Queue.WEBHOOKS)
    assert (task, args) == ("apps.webhooks.tasks.deliver_webhook", [delivery.pk])
    overdue_s = services.OVERDUE_AFTER.total_seconds()
    assert sent_at + overdue_s - 5 < expires <= time.time() + overdue_s
