"""Celery's side of the heartbeat probe (controlplane/heartbeat.py): workers and beat touch a file.

- A worker touches it from a consumer bootstep, on a timer of the worker's event loop: the step
  starts once the consumer is connected and consuming, and the consumer stops it when the broker
  connection is lost (until it is back). A main loop that is wedged fires no timer either, so the
  file goes stale and the probe restarts the worker. The prefork pool runs tasks in child
  processes, so a long task does not stop the touches; with `--pool=solo` a task runs on the
  event loop itself, and one longer than the probe's `--max-age` fails the probe.
- Beat touches it on every tick of its scheduler, and ticks at least every interval.
"""

from celery import bootsteps
from celery.beat import PersistentScheduler

from controlplane import heartbeat


class HeartbeatStep(bootsteps.StartStopStep):
    """A worker consumer step: touch the heartbeat file now and every interval while consuming."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent, **kwargs):
        self.timer_entry = None
        super().__init__(parent, **kwargs)

    def start(self, parent):
        """Begin beating, on the consumer's timer (the worker's event loop)."""
        heartbeat.touch()
        self.timer_entry = parent.timer.call_repeatedly(heartbeat.interval_s(), heartbeat.touch)

    def stop(self, parent):
        """Stop beating: the connection is lost, or the worker shuts down."""
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None

    shutdown = stop


class HeartbeatScheduler(PersistentScheduler):
    """Celery beat's default scheduler, touching the heartbeat file on every tick."""

    def tick(self, *args, **kwargs):
        """Send what is due, beat, and sleep no longer than the heartbeat interval."""
        wait = super().tick(*args, **kwargs)
        heartbeat.touch()
        return min(wait, heartbeat.interval_s())
