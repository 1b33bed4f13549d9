"""The demo's broker: kombu's filesystem transport, with messages kept until acknowledged.

Kombu's own filesystem transport deletes a message's file as soon as a worker takes it; the
acknowledgement lives only in the worker's memory, so a worker killed mid-task (or before a
task's countdown came due) loses the task for good, whatever `acks_late` says. This transport
moves a taken message's file to an in-flight folder instead, and deletes it only once the
message is acknowledged or rejected; a warm shutdown puts unacknowledged messages back in the
queue as before. When a worker starts, `restore_in_flight` puts back what a worker that died
left in flight (Celery's `worker_init` signal, `controlplane.celery`), marked redelivered, so
an interrupted task runs again.

It serves one worker per broker folder, as `make demo` runs it: a second worker starting would
put back the first one's tasks while they still run. Messages read without acknowledgement
(the workers' remote control, a `celery inspect` reply) are deleted when taken, as before.
Production uses Redis, whose unacknowledged messages come back after its visibility timeout.
"""

import os
from pathlib import Path

from kombu.transport import filesystem
from kombu.utils.json import dumps, loads

TRANSPORT = "controlplane.broker:Transport"  # the settings' CELERY_BROKER_TRANSPORT


class Channel(filesystem.Channel):
    """A filesystem channel whose taken messages stay on disk until acknowledged."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._no_ack_queues: set[str] = set()
        self._in_flight: dict[str, Path] = {}  # delivery tag -> the message's in-flight file

    @property
    def in_flight_folder(self) -> Path:
        """Where taken messages wait for their acknowledgement."""
        return Path(self.transport_options["in_flight_folder"])

    def basic_consume(self, queue, no_ack, *args, **kwargs):
        """Consume from `queue`, remembering whether its messages are ever acknowledged."""
        if no_ack:
            self._no_ack_queues.add(queue)
        return super().basic_consume(queue, no_ack, *args, **kwargs)

    def basic_get(self, queue, no_ack=False, **kwargs):
        """Take one message from `queue`, as `basic_consume` would."""
        if no_ack:
            self._no_ack_queues.add(queue)
        return super().basic_get(queue, no_ack, **kwargs)

    def _get(self, queue):
        if queue in self._no_ack_queues:
            return super()._get(queue)
        wanted = f"{queue}.msg"
        self.in_flight_folder.mkdir(parents=True, exist_ok=True)
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            taken = self.in_flight_folder / name
            try:  # a rename is atomic: of two consumers, one gets the file
                os.rename(os.path.join(self.data_folder_in, name), taken)
            except OSError:
                continue
            payload = loads(taken.read_bytes())
            self._in_flight[payload["properties"]["delivery_tag"]] = taken
            return payload
        raise filesystem.Empty()

    def _settled(self, delivery_tag) -> None:
        taken = self._in_flight.pop(delivery_tag, None)
        if taken is not None:
            taken.unlink(missing_ok=True)

    def basic_ack(self, delivery_tag, multiple=False):
        """Acknowledged: the message's in-flight file goes."""
        super().basic_ack(delivery_tag, multiple=multiple)
        self._settled(delivery_tag)

    def basic_reject(self, delivery_tag, requeue=False):
        """Rejected (put back first when `requeue`): the in-flight file goes."""
        super().basic_reject(delivery_tag, requeue=requeue)  # requeue: put back first
        self._settled(delivery_tag)

    def _restore(self, message):
        super()._restore(message)  # back in the queue (a warm shutdown, a requeue)
        self._settled(message.delivery_tag)


class Transport(filesystem.Transport):
    """Kombu's filesystem transport with `Channel`."""

    Channel = Channel


def restore_in_flight(transport_options: dict) -> int:
    """Put every in-flight message back in the queue, marked redelivered; how many there were.

    For a worker that starts: only a worker that died leaves messages in flight.
    """
    folder = Path(transport_options["in_flight_folder"])
    queue = Path(transport_options["data_folder_out"])
    if not folder.is_dir():
        return 0
    restored = 0
    for taken in sorted(folder.iterdir()):
        payload = loads(taken.read_bytes())
        payload["redelivered"] = True  # as kombu marks a restored message
        payload["properties"]["delivery_info"]["redelivered"] = True  # what Celery's request reads
        staged = queue / f".{taken.name}.tmp"  # not a queue's file name until it is whole
        staged.write_text(dumps(payload))
        os.replace(staged, queue / taken.name)
        taken.unlink()
        restored += 1
    return restored
