"""Prometheus pulls in batches: each minute one task per chunk of sources, not one per source.

`source_batches` cuts the enabled sources, ordered by server, into chunks of
BALLAST_METRIC_PULL_BATCH (default 200); `pull_batch` pulls one chunk's sources one after the
other. The arithmetic that keeps a chunk inside its task's soft time limit
(`apps.workloads.tasks.PULL_SOFT_LIMIT_S`, 50 s):

- a source's pull is one request to Prometheus in the steady state (one minute of new points),
  at most `services.PROMETHEUS_TIMEOUT_S` (10 s); a source whose next point is not due costs
  one database read;
- a server that times out or refuses the connection is not asked again in the same chunk
  (`services.pull_metrics`' `unreachable`), so dead servers cost one timeout each;
- no source starts after `PULL_BUDGET_S` (35 s): the one running then ends by 45 s, under the
  soft limit. The sources left are pulled on the next tick (a pull starts after the newest
  stored point, so nothing is lost) and counted in the task's result and a warning.

At about 50 ms a due source (a request and an upsert), 200 sources take about 10 s. A source
whose catch-up needs several requests (a first pull over a long `lookback_h`) may still reach
the soft limit: it ends the chunk, the others are pulled next tick, from a start that turns
with the minute so that no source always comes last.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from apps.workloads import services
from apps.workloads.models import MetricSource

log = logging.getLogger(__name__)

PULL_BUDGET_S = 35.0


@dataclass
class BatchReport:
    """One chunk's pulls: sources pulled (their errors recorded on them), crashed, left over."""

    pulled: int = 0
    crashed: int = 0
    left: int = 0


def source_batches(size: int | None = None) -> list[list[int]]:
    """The enabled sources' ids in chunks of `size` (the setting), one server's sources together."""
    size = size or settings.METRIC_PULL_BATCH
    ids = list(
        MetricSource.objects.filter(enabled=True)
        .order_by("base_url", "pk")
        .values_list("pk", flat=True)
    )
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def pull_batch(
    source_ids: list[int],
    *,
    budget_s: float = PULL_BUDGET_S,
    clock: Callable[[], float] = time.monotonic,
) -> BatchReport:
    """Pull each source in turn, each failure its own (module docstring for the time arithmetic).

    Prometheus's errors are recorded on their source by `services.pull_metrics`; anything else
    one source raises is logged and counted, and the next source is pulled.
    """
    report = BatchReport()
    if not source_ids:
        return report
    turn = int(time.time() // 60) % len(source_ids)  # a different first source each minute
    ordered = source_ids[turn:] + source_ids[:turn]
    unreachable: dict[str, str] = {}
    started = clock()
    for done, source_id in enumerate(ordered):
        if clock() - started >= budget_s:
            report.left = len(ordered) - done
            log.warning(
                "metric pull batch: %s of %s sources left for the next tick",
                report.left,
                len(ordered),
            )
            break
        try:
            if MetricSource.objects.filter(pk=source_id, enabled=True).exists():
                services.pull_metrics(source_id, unreachable=unreachable)
                report.pulled += 1
        except SoftTimeLimitExceeded:
            raise
        except Exception:
            log.exception("pulling metric source %s failed", source_id)
            report.crashed += 1
    return report
