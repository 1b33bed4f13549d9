r"""The Celery queues and workers as Redis holds them: messages waiting, workers alive per queue.

- Queue length: Kombu's Redis transport keeps each queue as a list, one more per priority step
  (`cpu`, then `cpu\x06\x163` and so on); a queue's length is the sum of their LLENs.
- Workers: each worker keeps its name in a sorted set per queue it consumes
  (`ballast:workers:<queue>`, scored with the time it last said so), every `ANNOUNCE_S` while
  its consumer is connected (`PresenceStep`, a consumer bootstep on the worker's event loop) and
  withdraws it when the consumer stops. A worker counts as live for `LIVE_S` after it last
  announced itself, so one killed outright drops out within that. Reading the count is one
  ZCOUNT per queue, cheap at every scrape; no broadcast to the workers.

Both need a Redis broker; with the demo's filesystem broker there is nothing to read, and
redis-py is not even imported.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import TYPE_CHECKING

from celery import bootsteps

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)

ANNOUNCE_S = 30
LIVE_S = 90
PRESENCE_KEY = "ballast:workers:{queue}"
PRIORITY_SEP = "\x06\x16"  # kombu.transport.redis.Channel.sep
TIMEOUT_S = 2


@functools.cache
def redis_client(broker_url: str) -> redis.Redis | None:
    """A client of the broker's Redis, or None for another broker (the demo's filesystem one)."""
    if not broker_url.startswith(("redis://", "rediss://")):
        return None
    import redis

    return redis.Redis.from_url(
        broker_url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
    )


def queue_keys(queue: str, prefix: str = "") -> list[str]:
    """The Redis lists that hold a queue's messages, one per priority step."""
    from kombu.transport.redis import PRIORITY_STEPS

    return [
        f"{prefix}{queue}{PRIORITY_SEP}{step}" if step else f"{prefix}{queue}"
        for step in PRIORITY_STEPS
    ]


def queue_lengths(client: redis.Redis, queues: list[str], prefix: str = "") -> dict[str, int]:
    """Messages waiting in each queue, read in one round trip."""
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        for key in queue_keys(queue, prefix):
            pipe.llen(key)
    lengths = iter(pipe.execute())
    steps = len(queue_keys(""))
    return {queue: sum(next(lengths) for _ in range(steps)) for queue in queues}


def live_workers(
    client: redis.Redis, queues: list[str], now: float | None = None
) -> dict[str, int]:
    """Workers that announced themselves on each queue in the last `LIVE_S` seconds."""
    since = (time.time() if now is None else now) - LIVE_S
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        pipe.zcount(PRESENCE_KEY.format(queue=queue), since, "+inf")
    return dict(zip(queues, pipe.execute(), strict=True))


def announce(client: redis.Redis, hostname: str, queues: list[str], now: float | None = None):
    """Say that `hostname` consumes `queues` now, and forget workers long gone."""
    now = time.time() if now is None else now
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        key = PRESENCE_KEY.format(queue=queue)
        pipe.zadd(key, {hostname: now})
        pipe.zremrangebyscore(key, "-inf", now - 10 * LIVE_S)
        pipe.expire(key, 10 * LIVE_S)
    pipe.execute()


def withdraw(client: redis.Redis, hostname: str, queues: list[str]) -> None:
    """`hostname` consumes `queues` no more."""
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        pipe.zrem(PRESENCE_KEY.format(queue=queue), hostname)
    pipe.execute()


class PresenceStep(bootsteps.StartStopStep):
    """A worker consumer step: announce the worker on its queues while the consumer is connected."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent, **kwargs):
        self.client = redis_client(parent.app.conf.broker_url or "")
        self.timer_entry = None
        self.queues: list[str] = []
        super().__init__(parent, **kwargs)

    def start(self, parent):
        """Announce now, then every `ANNOUNCE_S` on the consumer's timer."""
        if self.client is None:
            return
        self.queues = sorted(queue.name for queue in parent.task_consumer.queues)
        self._announce(parent.hostname)
        self.timer_entry = parent.timer.call_repeatedly(
            ANNOUNCE_S, self._announce, (parent.hostname,)
        )

    def stop(self, parent):
        """Withdraw: the connection is lost, or the worker shuts down."""
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None
        if self.client is not None and self.queues:
            from redis import RedisError

            try:
                withdraw(self.client, parent.hostname, self.queues)
            except RedisError as exc:
                log.warning("could not withdraw %s from the live workers: %s", parent.hostname, exc)

    shutdown = stop

    def _announce(self, hostname: str) -> None:
        from redis import RedisError

        try:
            announce(self.client, hostname, self.queues)
        except RedisError as exc:
            log.warning("could not announce %s as a live worker: %s", hostname, exc)
