"""The demo's filesystem broker keeps a taken message until it is acknowledged.

Kombu-level: no worker, no database. tests/integration/test_demo_redelivery.py kills a real
worker mid-task and sees the task run again.
"""

import pytest
from kombu import Connection
from kombu.transport import virtual

from controlplane import broker


@pytest.fixture
def options(tmp_path, monkeypatch):
    # Kombu keeps the declared exchanges per process; each test here has its own folders.
    monkeypatch.setattr(broker.Transport, "global_state", virtual.BrokerState())
    folders = {
        "data_folder_in": tmp_path / "queue",
        "data_folder_out": tmp_path / "queue",
        "processed_folder": tmp_path / "processed",
        "control_folder": tmp_path / "control",
        "in_flight_folder": tmp_path / "in-flight",
    }
    for folder in folders.values():
        folder.mkdir(exist_ok=True)
    return {name: str(path) for name, path in folders.items()} | {"store_processed": False}


@pytest.fixture
def connect(options):
    connections = []

    def open_one() -> Connection:
        connections.append(
            Connection("filesystem://", transport=broker.TRANSPORT, transport_options=options)
        )
        return connections[-1]

    yield open_one
    for connection in connections:
        connection.default_channel.do_restore = False  # a crashed worker restores nothing
        connection.release()


def files(options, key: str) -> list[str]:
    from pathlib import Path

    return sorted(p.name for p in Path(options[key]).iterdir() if not p.name.startswith("."))


def test_the_settings_select_this_transport_for_the_demo(settings):
    assert broker.TRANSPORT == "controlplane.broker:Transport"
    transport = Connection("filesystem://", transport=broker.TRANSPORT).transport
    assert isinstance(transport, broker.Transport)


def test_a_message_taken_and_never_acknowledged_comes_back_when_a_worker_starts(connect, options):
    crashed = connect().SimpleQueue("cpu")
    crashed.put({"task": 1})
    message = crashed.get(timeout=1)
    assert message.payload == {"task": 1}
    assert files(options, "data_folder_in") == [] and len(files(options, "in_flight_folder")) == 1
    # The worker dies here: no acknowledgement, no warm shutdown.

    assert broker.restore_in_flight(options) == 1

    assert files(options, "in_flight_folder") == []
    again = connect().SimpleQueue("cpu").get(timeout=1)
    assert again.payload == {"task": 1} and again.delivery_info["redelivered"] is True
    again.ack()
    assert files(options, "in_flight_folder") == [] and files(options, "data_folder_in") == []
    assert broker.restore_in_flight(options) == 0


def test_an_acknowledged_message_is_gone_for_good(connect, options):
    queue = connect().SimpleQueue("cpu")
    queue.put({"task": 2})
    queue.get(timeout=1).ack()

    assert broker.restore_in_flight(options) == 0
    assert files(options, "data_folder_in") == [] and files(options, "in_flight_folder") == []


def test_a_rejected_message_requeued_or_not_leaves_nothing_in_flight(connect, options):
    queue = connect().SimpleQueue("cpu")
    queue.put({"task": 3})
    queue.get(timeout=1).reject(requeue=True)
    assert len(files(options, "data_folder_in")) == 1 and files(options, "in_flight_folder") == []

    queue.get(timeout=1).reject()
    assert files(options, "data_folder_in") == [] and files(options, "in_flight_folder") == []


def test_a_warm_shutdown_puts_unacknowledged_messages_back_once(options):
    connection = Connection("filesystem://", transport=broker.TRANSPORT, transport_options=options)
    queue = connection.SimpleQueue("cpu")
    queue.put({"task": 4})
    queue.get(timeout=1)

    connection.default_channel.close()  # kombu restores what was not acknowledged
    connection.release()

    assert len(files(options, "data_folder_in")) == 1 and files(options, "in_flight_folder") == []
    assert broker.restore_in_flight(options) == 0


def test_messages_read_without_acknowledgement_are_not_kept(connect, options):
    connection = connect()
    queue = connection.SimpleQueue("replies", no_ack=True)
    queue.put({"reply": "pong"})

    assert queue.get(timeout=1).payload == {"reply": "pong"}
    assert files(options, "in_flight_folder") == [] and files(options, "data_folder_in") == []
