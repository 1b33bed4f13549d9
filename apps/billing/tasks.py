"""Celery entry points for billing: a daily fan-out, one pull per source."""

from celery import shared_task

from apps.billing import services
from apps.billing.models import BillingSource
from apps.kernel.tasks import Queue, row_task

# A pull queued by one day's fan-out that no worker took within this long is dropped: the next
# day's fan-out rereads the same days.
PULL_EXPIRES_S = 6 * 3600


@row_task(soft_time_limit=1500, time_limit=1560)
def pull_billing_source(source_id: int) -> None:
    """Pull one source's restated days. Redelivery is harmless: the days' rows are replaced."""
    services.pull_recent(source_id)


@shared_task(queue=Queue.CPU)
def pull_all_billing_sources() -> None:
    """Queue a pull of every source; Celery beat runs it daily as this module's path.

    Beat entry: `apps.billing.tasks.pull_all_billing_sources`, every 86 400 s.
    """
    for source_id in BillingSource.objects.values_list("pk", flat=True):
        pull_billing_source.apply_async((source_id,), expires=PULL_EXPIRES_S)
