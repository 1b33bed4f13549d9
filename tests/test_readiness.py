"""/readyz rides out a short broker outage, on a real Redis stopped and started again."""

import time

import pytest

from controlplane import health
from tests.redis_server import RedisServer


@pytest.fixture
def broker(tmp_path, monkeypatch):
    """A Redis of the test's own, watched by a fresh watch that asks it on every probe."""
    server = RedisServer(tmp_path)
    server.start()
    calls = []

    def check():
        calls.append(time.monotonic())
        return health.check_broker(server.url)

    monkeypatch.setattr(health, "broker_watch", health.BrokerWatch(check))
    monkeypatch.setattr(health, "BROKER_CHECK_EVERY_S", 0)
    server.calls = calls
    yield server
    server.stop()


def ready(client):
    response = client.get("/readyz", HTTP_HOST="10.1.2.3")
    return response.status_code, response.json()


def test_readiness_stays_up_within_the_grace_and_fails_after_it(client, db, broker, settings):
    settings.READY_BROKER_GRACE_S = 2
    assert ready(client) == (200, {"status": "ready"})

    broker.stop()
    status, body = ready(client)
    assert (status, body["status"]) == (200, "degraded")
    assert body["problems"][0].startswith("broker: OperationalError")
    assert "not ready after 2 s" in body["problems"][0]

    time.sleep(2.2)
    status, body = ready(client)
    assert (status, body["status"]) == (503, "unavailable")
    assert [p.split(":")[0] for p in body["problems"]] == ["broker"]

    broker.start()
    assert ready(client) == (200, {"status": "ready"})
    broker.stop()  # a new outage has its own grace
    assert ready(client)[0] == 200


def test_without_a_grace_readiness_fails_with_the_broker(client, db, broker, settings):
    settings.READY_BROKER_GRACE_S = 0
    broker.stop()
    assert ready(client)[0] == 503


def test_readiness_asks_the_broker_at_most_once_per_interval(client, db, broker, monkeypatch):
    monkeypatch.setattr(health, "BROKER_CHECK_EVERY_S", 1.0)
    for _ in range(10):
        assert ready(client) == (200, {"status": "ready"})
    assert len(broker.calls) == 1

    broker.stop()
    assert ready(client) == (200, {"status": "ready"})  # what it knew a moment ago
    time.sleep(1.1)
    assert ready(client)[1]["status"] == "degraded"
    assert len(broker.calls) == 2
