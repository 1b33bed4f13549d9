from datetime import UTC, datetime
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from django.db import transaction

from apps.webhooks import services
from apps.webhooks.models import WebhookDelivery
from apps.webhooks.tests.factories import WebhookFactory


@pytest.fixture
def broker():
    connection = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    connection.delete("webhooks", "cpu")
    yield connection
    connection.delete("webhooks", "cpu")


def test_emit_records_one_delivery_per_subscribed_active_webhook_of_the_team(team_a, team_b):
    everything = WebhookFactory(team=team_a)
    approvals = WebhookFactory(team=team_a, events=["plan.approved"])
    WebhookFactory(team=team_a, events=["plan.applied"])
    WebhookFactory(team=team_a, active=False)
    WebhookFactory(team=team_b)

    deliveries = services.emit("plan.approved", team_id=team_a.pk, payload={"plan": 1})

    assert {d.webhook_id for d in deliveries} == {everything.pk, approvals.pk}
    assert all(d.status == "pending" and d.attempts == 0 for d in deliveries)


def test_emit_queues_the_deliveries_on_the_webhooks_queue_when_the_caller_commits(
    team_a, broker, django_capture_on_commit_callbacks
):
    WebhookFactory(team=team_a)
    WebhookFactory(team=team_a)

    with django_capture_on_commit_callbacks() as callbacks:
        services.emit("plan.proposed", team_id=team_a.pk, payload={"plan": 1})
        assert broker.llen("webhooks") == 0  # nothing leaves before the commit
    for callback in callbacks:
        callback()

    assert broker.llen("webhooks") == 2
    assert broker.llen("cpu") == 0  # never behind the plans' work


def test_emit_in_a_rolled_back_transaction_leaves_nothing_behind(
    team_a, django_capture_on_commit_callbacks
):
    WebhookFactory(team=team_a)

    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.emit("plan.applied", team_id=team_a.pk, payload={"plan": 1})
            raise RuntimeError("the plan transition failed")

    assert callbacks == [] and not WebhookDelivery.objects.exists()


def test_emit_stores_decimals_and_datetimes_as_strings(team_a):
    WebhookFactory(team=team_a)
    payload = {"cost_usd": Decimal("12.5000"), "at": datetime(2026, 11, 1, tzinfo=UTC)}

    services.emit("plan.approved", team_id=team_a.pk, payload=payload)

    stored = WebhookDelivery.objects.get().payload
    assert stored == {"cost_usd": "12.5000", "at": "2026-11-01T00:00:00Z"}


def test_emit_refuses_an_unknown_event(team_a):
    with pytest.raises(ValueError, match="plan.exploded"):
        services.emit("plan.exploded", team_id=team_a.pk, payload={})


def test_a_lost_task_is_queued_again_by_the_sweeper(team_a, broker):
    WebhookFactory(team=team_a)
    [delivery] = services.emit("plan.approved", team_id=team_a.pk, payload={})
    later = delivery.next_attempt_at + services.OVERDUE_AFTER * 2

    assert services.requeue_overdue_deliveries(now=later) == 1
    assert services.requeue_overdue_deliveries(now=later) == 0  # not twice
    assert broker.llen("webhooks") == 1
