"""Metric pulls in batches: one task per chunk of sources, each failure its own, inside a budget."""

import base64
import json
import socket
import time
from datetime import datetime

import pytest
import redis
from django.conf import settings

from apps.workloads import pulls, services, tasks
from apps.workloads.models import MetricObservation, MetricSource
from apps.workloads.tests.factories import WorkloadFactory
from apps.workloads.tests.prometheus_server import PrometheusServer

TEMPLATE = 'sum(rate(http_requests_total{job="{workload}"}[1m]))'
QUERY = 'sum(rate(http_requests_total{job="ranker"}[1m]))'


@pytest.fixture
def prom():
    server = PrometheusServer().start()
    yield server
    server.stop()


@pytest.fixture
def workload(team_a):
    return WorkloadFactory(team=team_a, name="ranker")


@pytest.fixture(autouse=True)
def allowed_servers(settings):
    settings.PROMETHEUS_HOSTS = ["127.0.0.1"]


@pytest.fixture
def broker():
    """The test Redis the tasks are sent to, its cpu queue emptied before and after."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("cpu")
    yield client
    client.delete("cpu")


def sent(broker, queue: str = "cpu") -> list[tuple[dict, list]]:
    """(headers, args) of every message waiting on `queue`."""
    messages = [json.loads(m) for m in broker.lrange(queue, 0, -1)]
    return [(m["headers"], json.loads(base64.b64decode(m["body"]))[0]) for m in messages]


def add_sources(workload, base_url: str, count: int, **fields) -> list[int]:
    MetricSource.objects.bulk_create(
        MetricSource(
            workload=workload,
            series=f"s{i}",
            base_url=base_url,
            promql=TEMPLATE,
            lookback_h=1,
            **fields,
        )
        for i in range(count)
    )
    return list(
        MetricSource.objects.filter(base_url=base_url).order_by("pk").values_list("pk", flat=True)
    )


def grid(hours: float) -> list[tuple[float, float]]:
    end_s = int(time.time()) // 60 * 60
    return [(end_s - i * 60, 100.0 + i) for i in range(int(hours * 60))]


def test_ten_thousand_sources_cost_fifty_tasks_a_minute_each_expiring_before_the_next_tick(
    workload, broker, settings
):
    settings.METRIC_PULL_BATCH = 200
    ids = add_sources(workload, "http://127.0.0.1:9", 10_000)
    add_sources(
        WorkloadFactory(team=workload.team, name="off"), "http://127.0.0.1:8", 5, enabled=False
    )

    started = time.time()
    assert tasks.pull_all_metric_sources() == 50

    messages = sent(broker)
    assert len(messages) == 50
    assert {h["task"] for h, _ in messages} == {"apps.workloads.tasks.pull_metric_sources"}
    batches = [args[0] for _, args in messages]
    assert max(len(b) for b in batches) == 200
    assert sorted(i for b in batches for i in b) == ids  # every enabled source once, no other
    for headers, _ in messages:
        expires = datetime.fromisoformat(headers["expires"]).timestamp()
        assert started + 50 < expires < started + 60 + 5  # before the next tick's fan-out


def test_one_server_that_times_out_costs_a_batch_one_timeout_and_the_others_are_pulled(
    workload, prom, monkeypatch
):
    monkeypatch.setattr(services, "PROMETHEUS_TIMEOUT_S", 0.5)
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        dead_url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        dead = add_sources(workload, dead_url, 6)
        prom.add_series(QUERY, grid(hours=1))
        live = MetricSource.objects.create(
            workload=workload, series="requests", base_url=prom.url, promql=TEMPLATE, lookback_h=1
        )
        started = time.monotonic()
        report = pulls.pull_batch([*dead, live.pk])
        elapsed = time.monotonic() - started

    assert (report.pulled, report.crashed, report.left) == (7, 0, 0)
    assert elapsed < 6 * 0.5  # one timeout, not one per source of the dead server
    errors = list(MetricSource.objects.filter(pk__in=dead).values_list("last_error", flat=True))
    skipped = [e for e in errors if e.startswith(f"not pulled: {dead_url} failed another")]
    asked = [e for e in errors if e not in skipped]
    assert len(skipped) == 5 and all("did not answer within 0.5 s" in e for e in skipped)
    assert len(asked) == 1 and "did not answer within 0.5 s" in asked[0]
    live.refresh_from_db()
    assert live.last_error == "" and live.points_last_pull >= 58
    assert MetricObservation.objects.filter(workload=workload, series="requests").count() >= 58


def test_a_source_that_crashes_is_logged_and_the_next_ones_are_still_pulled(
    workload, prom, monkeypatch
):
    ids = add_sources(workload, prom.url, 3)
    pull = services.pull_metrics

    def crash_second(source_id, **kwargs):
        if source_id == ids[1]:
            raise RuntimeError("a bug")
        return pull(source_id, **kwargs)

    monkeypatch.setattr(services, "pull_metrics", crash_second)
    report = pulls.pull_batch(ids)
    assert (report.pulled, report.crashed) == (2, 1)
    assert len(prom.requests) == 2


def test_no_source_starts_after_the_budget_and_the_rest_are_left_for_the_next_tick(
    workload, monkeypatch
):
    ids = add_sources(workload, "http://127.0.0.1:9", 10)
    seen = []
    monkeypatch.setattr(services, "pull_metrics", lambda source_id, **kw: seen.append(source_id))
    ticks = iter([0, *range(0, 1000, 10)])  # the start, then each source takes 10 s

    report = pulls.pull_batch(ids, budget_s=35, clock=lambda: next(ticks))

    assert (report.pulled, report.left) == (4, 6)  # started at 0, 10, 20, 30 s
    assert len(seen) == 4 and len(set(seen)) == 4


def test_the_budget_and_one_request_fit_under_the_tasks_soft_limit():
    worst_s = pulls.PULL_BUDGET_S + services.PROMETHEUS_TIMEOUT_S
    task = tasks.pull_metric_sources
    assert worst_s < task.soft_time_limit < task.time_limit <= 60  # done before the next tick


def test_the_batch_size_is_a_setting(workload, settings):
    add_sources(workload, "http://127.0.0.1:9", 25)
    settings.METRIC_PULL_BATCH = 10
    assert [len(b) for b in pulls.source_batches()] == [10, 10, 5]
