import json
import random
import socket

import pytest
from celery.exceptions import Retry

from apps.webhooks import services, tasks
from apps.webhooks.models import WebhookDelivery
from apps.webhooks.tests.factories import WebhookDeliveryFactory, WebhookFactory


@pytest.fixture
def delivery(db, receiver):
    webhook = WebhookFactory(url=receiver.url)
    receiver.secret = services.secret_of(webhook)
    return WebhookDeliveryFactory(webhook=webhook, payload={"plan": 42, "cost_usd": "12.50"})


def reload(delivery) -> WebhookDelivery:
    return WebhookDelivery.objects.get(pk=delivery.pk)


def test_a_delivery_reaches_a_real_receiver_that_verifies_its_signature(delivery, receiver):
    assert services.attempt_delivery(delivery.pk) is None

    [request] = receiver.requests
    assert request.signature_ok and request.path == "/hooks/ballast"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Ballast-Event"] == "plan.approved"
    assert request.headers["X-Ballast-Delivery"] == str(delivery.delivery_id)
    assert json.loads(request.body) == {
        "id": str(delivery.delivery_id),
        "event": "plan.approved",
        "created_at": json.loads(request.body)["created_at"],
        "data": {"plan": 42, "cost_usd": "12.50"},
    }
    done = reload(delivery)
    assert (done.status, done.attempts, done.last_status_code) == ("delivered", 1, 200)
    assert done.delivered_at is not None and done.next_attempt_at is None


def test_a_wrong_secret_is_caught_by_the_receiver(delivery, receiver):
    receiver.secret = "not-the-secret"

    services.attempt_delivery(delivery.pk)

    assert not receiver.requests[0].signature_ok
    assert (reload(delivery).status, reload(delivery).last_status_code) == ("failed", 401)


def test_a_500_is_retried_after_a_backoff_and_then_delivered(delivery, receiver):
    receiver.statuses = [500]

    countdown_s = services.attempt_delivery(delivery.pk)

    waiting = reload(delivery)
    assert 10 <= countdown_s <= 12
    assert (waiting.status, waiting.attempts, waiting.last_status_code) == ("pending", 1, 500)
    assert "HTTP 500" in waiting.last_error and waiting.next_attempt_at is not None

    assert services.attempt_delivery(delivery.pk) is None
    done = reload(delivery)
    assert (done.status, done.attempts, done.last_status_code, done.last_error) == (
        "delivered",
        2,
        200,
        "",
    )
    assert len({r.headers["X-Ballast-Delivery"] for r in receiver.requests}) == 1


def test_the_task_asks_celery_to_retry_with_the_chosen_countdown(delivery, receiver, monkeypatch):
    receiver.statuses = [503]
    countdowns = []

    def retry(countdown, expires):
        countdowns.append((countdown, expires))
        return Retry(when=countdown)

    monkeypatch.setattr(tasks.deliver_webhook, "retry", retry)

    with pytest.raises(Retry):
        tasks.deliver_webhook(delivery.pk)

    [(countdown, expires)] = countdowns
    assert 10 <= countdown <= 12
    # The retry expires once the sweeper would queue it again.
    assert expires == countdown + services.OVERDUE_AFTER.total_seconds()
    assert reload(delivery).next_attempt_at is not None


def test_the_task_run_eagerly_retries_until_delivered(delivery, receiver):
    receiver.statuses = [500, 502, 429]

    tasks.deliver_webhook.apply(args=(delivery.pk,))  # eager retries run at once, no sleeping

    done = reload(delivery)
    assert (done.status, done.attempts) == ("delivered", 4)
    assert len(receiver.requests) == 4


def test_a_delivery_gives_up_after_eight_attempts(delivery, receiver):
    receiver.statuses = [500] * 10

    tasks.deliver_webhook.apply(args=(delivery.pk,))

    failed = reload(delivery)
    assert (failed.status, failed.attempts, failed.last_status_code) == ("failed", 8, 500)
    assert len(receiver.requests) == services.MAX_ATTEMPTS == 8


@pytest.mark.parametrize("code", [400, 401, 404, 410, 422])
def test_a_4xx_fails_at_once_without_retry(delivery, receiver, code):
    receiver.statuses = [code]

    tasks.deliver_webhook.apply(args=(delivery.pk,))

    failed = reload(delivery)
    assert (failed.status, failed.attempts, failed.last_status_code) == ("failed", 1, code)
    assert len(receiver.requests) == 1 and failed.next_attempt_at is None


@pytest.mark.parametrize("code", [408, 429, 500, 503])
def test_timeouts_rate_limits_and_server_errors_are_retried(delivery, receiver, code):
    receiver.statuses = [code]

    assert services.attempt_delivery(delivery.pk) is not None
    assert reload(delivery).status == "pending"


def test_a_slow_receiver_times_out_and_is_retried(delivery, receiver, monkeypatch):
    monkeypatch.setattr(services, "TIMEOUT_S", 0.2)
    receiver.delay_s = 1.0

    assert services.attempt_delivery(delivery.pk) is not None

    waiting = reload(delivery)
    assert waiting.last_status_code is None and "timed out" in waiting.last_error.lower()


def test_a_refused_connection_is_retried(db):
    with socket.socket() as sock:  # a port nobody listens on once this closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    delivery = WebhookDeliveryFactory(webhook=WebhookFactory(url=f"http://127.0.0.1:{port}/"))

    assert services.attempt_delivery(delivery.pk) is not None
    assert "refused" in reload(delivery).last_error.lower()


def test_redelivering_a_delivered_delivery_sends_nothing(delivery, receiver):
    tasks.deliver_webhook.apply(args=(delivery.pk,))
    first = reload(delivery)

    tasks.deliver_webhook.apply(args=(delivery.pk,))

    again = reload(delivery)
    assert len(receiver.requests) == 1
    assert (again.attempts, again.delivered_at) == (first.attempts, first.delivered_at)


def test_a_deleted_webhook_or_delivery_ends_the_task_quietly(delivery, receiver):
    delivery.webhook.delete()

    tasks.deliver_webhook.apply(args=(delivery.pk,)).get()

    assert receiver.requests == []


def test_a_deactivated_webhook_fails_its_pending_deliveries(delivery, receiver):
    type(delivery.webhook).objects.filter(pk=delivery.webhook.pk).update(active=False)

    services.attempt_delivery(delivery.pk)

    assert reload(delivery).status == "failed" and receiver.requests == []


def test_backoff_doubles_from_10_s_up_to_10_minutes_with_at_most_20_percent_jitter():
    rng = random.Random(0)
    delays = [services.retry_delay_s(attempt, rng=rng) for attempt in range(1, 9)]

    for delay, base in zip(delays, [10, 20, 40, 80, 160, 320, 600, 600], strict=True):
        assert base <= delay <= base * 1.2
