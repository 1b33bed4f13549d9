"""Celery entry points for webhooks: send one delivery, and requeue deliveries whose task was lost.

Each attempt POSTs the delivery's JSON body with Content-Type: application/json and
X-Ballast-Event, X-Ballast-Delivery (a UUID, the same for every attempt), X-Ballast-Timestamp
(unix seconds) and X-Ballast-Signature: "sha256=" + hex HMAC-SHA256 with the webhook's secret over
f"{timestamp}.".encode() + body (see `apps.webhooks.signing.sign_body`). A 2xx answer delivers it;
timeouts, connection errors, 408, 429 and 5xx are retried after 10 s, 20 s, 40 s ... (at most
10 minutes, plus jitter), 8 attempts in all; any other answer fails the delivery at once.
"""

from django.db import OperationalError

from apps.kernel.tasks import Queue, limited_task
from apps.webhooks import services


# max_retries=None: the delivery row counts the attempts (services.MAX_ATTEMPTS), which also
# survives a task redelivered by the broker, where Celery's own retry counter starts over.
# An attempt's HTTP exchange ends within services.TIMEOUT_S (10 s) whatever the receiver does;
# the time limits bound the rest. An attempt stopped by one stays PENDING with its next attempt
# due, and the sweeper (requeue_overdue_webhook_deliveries) queues it again.
@limited_task(
    Queue.WEBHOOKS,
    soft_time_limit=30,
    time_limit=45,
    bind=True,
    acks_late=True,
    max_retries=None,
    autoretry_for=(OperationalError,),
    retry_kwargs={"max_retries": 3},
    retry_backoff=True,
)
def deliver_webhook(self, delivery_id: int) -> None:
    """Send the next attempt of one WebhookDelivery; schedule a retry when it may heal."""
    if (retry_in_s := services.attempt_delivery(delivery_id)) is not None:
        # A retry expires as a first attempt does: once the sweeper would queue it again.
        expires = retry_in_s + services.OVERDUE_AFTER.total_seconds()
        raise self.retry(countdown=retry_in_s, expires=expires)


@limited_task(Queue.WEBHOOKS, acks_late=True)
def requeue_overdue_webhook_deliveries() -> int:
    """For celery beat (every few minutes): queue again pending deliveries whose task was lost."""
    return services.requeue_overdue_deliveries()
