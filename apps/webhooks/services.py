"""Every write to webhooks: their settings, secrets, and the deliveries of plan events.

Deliveries are at least once: each attempt is claimed with a conditional UPDATE, so two workers
never send the same attempt, but a worker that dies after sending and before recording makes the
next attempt send the event again. Receivers deduplicate on X-Ballast-Delivery.
"""

import json
import logging
import random
import time
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from apps.kernel.tasks import Queue
from apps.webhooks import signing, transport
from apps.webhooks.models import Webhook, WebhookDelivery, WebhookEvent, new_salt

log = logging.getLogger(__name__)

TIMEOUT_S = 10  # the whole HTTP exchange of one attempt, however slowly the receiver answers
MAX_ATTEMPTS = 8
FIRST_RETRY_S = 10  # then 20, 40, ... doubling up to MAX_RETRY_S, each plus up to 20% jitter
MAX_RETRY_S = 600
# A pending delivery this far past its due time lost its task (broker down at commit, a purged
# queue): the sweeper queues it again. Longer than any attempt, so live retries are left alone.
OVERDUE_AFTER = timedelta(minutes=15)
USER_AGENT = "Ballast-Webhooks/1"

Status = WebhookDelivery.Status


def secret_of(webhook: Webhook) -> str:
    """The webhook's current signing secret (derived, never stored)."""
    return signing.derive_secret(webhook_id=webhook.pk, salt=webhook.salt)


@transaction.atomic
def create_webhook(*, team, url: str, events: list[str], active: bool = True, by) -> Webhook:
    """Register an endpoint; the caller shows `secret_of(webhook)` to the user once."""
    webhook = Webhook(team=team, url=url, events=events, active=active, created_by=by)
    webhook.full_clean()
    webhook.save()
    log.info("webhook %s created for team %s by %s", webhook.pk, team, by)
    return webhook


@transaction.atomic
def update_webhook(
    *,
    webhook: Webhook,
    url: str | None = None,
    events: list[str] | None = None,
    active: bool | None = None,
) -> Webhook:
    """Change the given settings; the secret stays the same."""
    changes = {"url": url, "events": events, "active": active}
    for name, value in changes.items():
        if value is not None:
            setattr(webhook, name, value)
    webhook.full_clean()
    webhook.save()
    return webhook


@transaction.atomic
def rotate_secret(*, webhook: Webhook) -> Webhook:
    """A new salt, hence a new secret; deliveries already queued are signed with the new one."""
    webhook.salt = new_salt()
    webhook.save(update_fields=["salt"])
    log.info("webhook %s secret rotated", webhook.pk)
    return webhook


@transaction.atomic
def delete_webhook(*, webhook: Webhook) -> None:
    """Remove the endpoint and its delivery history; queued attempts find nothing and stop."""
    log.info("webhook %s deleted", webhook.pk)
    webhook.delete()


@transaction.atomic
def emit(event: str, *, team_id: int, payload: dict) -> list[WebhookDelivery]:
    """Record `event` for every active webhook of the team subscribed to it.

    Runs inside the caller's transaction: the deliveries exist, and their tasks are queued, only
    if the caller commits. `payload` may hold Decimals and datetimes (sent as strings).
    """
    if event not in WebhookEvent.values:
        raise ValueError(f"event must be one of {WebhookEvent.values}, got {event!r}")
    hooks = [h for h in Webhook.objects.filter(team_id=team_id, active=True) if event in h.events]
    deliveries = [
        WebhookDelivery.objects.create(
            webhook=hook, event=event, payload=payload, next_attempt_at=timezone.now()
        )
        for hook in hooks
    ]
    if deliveries:
        ids = [delivery.pk for delivery in deliveries]
        # robust: a broker outage must not turn the caller's committed change into an error;
        # the sweeper (requeue_overdue_deliveries) queues these again later.
        transaction.on_commit(lambda: queue_deliveries(ids), robust=True)
    return deliveries


def queue_deliveries(delivery_ids: list[int]) -> None:
    """Queue one delivery task per id on the webhooks queue.

    Each expires once the sweeper (`requeue_overdue_deliveries`) would queue it again anyway.
    """
    from apps.webhooks import tasks  # tasks imports this module

    expires = OVERDUE_AFTER.total_seconds()
    for delivery_id in delivery_ids:
        tasks.deliver_webhook.apply_async(
            (delivery_id,), queue=Queue.WEBHOOKS.value, expires=expires
        )


def requeue_overdue_deliveries(*, now=None) -> int:
    """Queue again the pending deliveries whose task was lost; how many there were."""
    now = now or timezone.now()
    overdue = WebhookDelivery.objects.filter(
        status=Status.PENDING, next_attempt_at__lt=now - OVERDUE_AFTER
    )
    ids = list(overdue.values_list("pk", flat=True)[:1000])
    # Pushing the due time forward keeps the next sweep from queueing them a second time.
    WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=now)
    queue_deliveries(ids)
    return len(ids)


def retry_delay_s(attempt: int, *, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): 10, 20, 40, ... 600.

    The jitter (up to 20%) spreads out the retries of many deliveries that failed together,
    e.g. when a receiver was down, so they do not all hit it again in the same second.
    """
    base_s = min(FIRST_RETRY_S * 2 ** (attempt - 1), MAX_RETRY_S)
    return base_s * (1 + 0.2 * (rng or random).random())


def build_body(delivery: WebhookDelivery) -> bytes:
    """The exact bytes POSTed and signed: the same for every attempt of a delivery."""
    envelope = {
        "id": str(delivery.delivery_id),
        "event": delivery.event,
        "created_at": delivery.created_at,
        "data": delivery.payload,
    }
    return json.dumps(
        envelope, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":")
    ).encode()


def build_headers(delivery: WebhookDelivery, *, body: bytes, timestamp: int) -> dict[str, str]:
    """The signed headers of one attempt."""
    secret = secret_of(delivery.webhook)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Ballast-Event": delivery.event,
        "X-Ballast-Delivery": str(delivery.delivery_id),
        "X-Ballast-Timestamp": str(timestamp),
        "X-Ballast-Signature": signing.sign_body(secret, timestamp=timestamp, body=body),
    }


def attempt_delivery(delivery_id: int) -> float | None:
    """Send the next attempt of a pending delivery.

    Returns the seconds to wait before retrying, or None when there is nothing more to do:
    delivered, failed for good, or not pending (a redelivered task is a no-op).
    """
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != Status.PENDING:
        return None
    if not delivery.webhook.active:
        _record(delivery, status=Status.FAILED, error="the webhook was deactivated")
        return None
    if delivery.attempts >= MAX_ATTEMPTS:  # the worker of the last attempt died
        _record(delivery, status=Status.FAILED, error=f"gave up after {MAX_ATTEMPTS} attempts")
        return None
    attempt = delivery.attempts + 1
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=Status.PENDING, attempts=delivery.attempts
    ).update(attempts=attempt)
    if not claimed:
        return None  # another worker got there first and sends this attempt
    body = build_body(delivery)
    headers = build_headers(delivery, body=body, timestamp=int(time.time()))
    outcome = transport.post_bytes(
        delivery.webhook.url,
        body=body,
        headers=headers,
        timeout_s=TIMEOUT_S,
        allow_private=settings.WEBHOOK_ALLOW_PRIVATE,
    )
    if outcome.delivered:
        _record(delivery, status=Status.DELIVERED, code=outcome.status_code)
        return None
    if outcome.retryable and attempt < MAX_ATTEMPTS:
        delay_s = retry_delay_s(attempt)
        retry_at = timezone.now() + timedelta(seconds=delay_s)
        _record(
            delivery,
            status=Status.PENDING,
            code=outcome.status_code,
            error=outcome.error,
            next_attempt_at=retry_at,
        )
        return delay_s
    _record(delivery, status=Status.FAILED, code=outcome.status_code, error=outcome.error)
    return None


def _record(
    delivery: WebhookDelivery,
    *,
    status: str,
    code: int | None = None,
    error: str = "",
    next_attempt_at=None,
) -> None:
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status,
        last_status_code=code,
        last_error=error,
        delivered_at=now if status == Status.DELIVERED else None,
        next_attempt_at=next_attempt_at,
    )
    if status == Status.FAILED:
        log.warning("webhook delivery %s failed: %s", delivery.pk, error or code)
