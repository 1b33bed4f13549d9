"""Production settings, probes, Prometheus metrics and JSON logs."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from controlplane import health
from controlplane.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]


def manage(*args, **env):
    # A clean environment: none of this process's settings (the browser tests set
    # DJANGO_ALLOW_ASYNC_UNSAFE, which check --deploy rightly refuses).
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("BALLAST_", "DATABASE", "DJANGO_"))
    }
    environment |= {"BALLAST_SECRET_KEY": "x", "BALLAST_VAR_DIR": "/tmp/ballast-obs"} | env
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )


PRODUCTION = {
    "BALLAST_SETTINGS_PROFILE": "production",
    "BALLAST_SECRET_KEY": secrets.token_urlsafe(50),
    "DATABASE_URL": "postgres://ballast@db.internal/ballast",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
    "BALLAST_ALLOWED_HOSTS": "ballast.example.com",
}


def test_check_deploy_is_clean_under_the_production_profile():
    result = manage("check", "--deploy", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_the_one_machine_defaults_and_a_weak_key():
    sqlite = manage("check", **{**PRODUCTION, "DATABASE_URL": ""})
    assert sqlite.returncode != 0 and "production needs DATABASE_URL" in sqlite.stderr
    weak = manage("check", **{**PRODUCTION, "BALLAST_SECRET_KEY": "short"})
    assert weak.returncode != 0 and "50+ random characters" in weak.stderr


def test_json_logs_are_one_object_per_line():
    code = "import logging; logging.getLogger('ballast.test').warning('hello %s', 'there')"
    result = manage("shell", "-c", code, BALLAST_LOG_FORMAT="json")
    line = next(line for line in result.stderr.splitlines() if "hello" in line)
    record = json.loads(line)
    assert (record["level"], record["logger"], record["message"]) == (
        "WARNING",
        "ballast.test",
        "hello there",
    )


def test_probes_answer_any_host_and_readiness_names_what_is_down(client, db, monkeypatch, settings):
    assert client.get("/healthz", HTTP_HOST="10.1.2.3").json() == {"status": "ok"}
    ready = client.get("/readyz", HTTP_HOST="10.1.2.3")
    assert ready.status_code == 200, ready.content
    unreachable = health.BrokerWatch(lambda: health.check_broker("redis://127.0.0.1:1/0"))
    monkeypatch.setattr(health, "broker_watch", unreachable)
    settings.READY_BROKER_GRACE_S = 0  # tests/test_readiness.py: the grace
    down = client.get("/readyz")
    assert down.status_code == 503 and down.json()["problems"][0].startswith("broker:")


def samples(client, **headers):
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me", **headers)
    assert response.status_code == 200, response.content
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def test_metrics_count_requests_plans_savings_and_task_durations(
    client,
    proposed,
    settings,
):
    from apps.plans import tasks
    from apps.plans.models import ScalingPlan

    settings.METRICS_TOKEN = "scrape-me"
    client.get("/healthz")
    client.get("/accounts/login/")
    cost = proposed.front[proposed.chosen_index]["cost_per_day_usd"]
    ScalingPlan.objects.filter(pk=proposed.pk).update(
        status="applied", current_cost_per_day_usd=cost + 5
    )
    settings.CELERY_TASK_ALWAYS_EAGER = True
    tasks.expire_plans.apply()

    values = samples(client)

    assert values[("ballast_plans", (("status", "applied"),))] == 1
    assert values[("ballast_plans", (("status", "proposed"),))] == 0
    assert values[("ballast_applied_savings_usd_per_day", (("team", "team-a"),))] == pytest.approx(
        5
    )
    task = (("outcome", "success"), ("task", "apps.plans.tasks.expire_plans"))
    assert values[("ballast_task_duration_seconds_count", task)] >= 1
    requests = [
        v for (name, _), v in values.items() if name == "django_http_requests_total_by_method_total"
    ]
    assert sum(requests) >= 1


def test_metrics_need_the_token_when_one_is_set(client, settings, db):
    settings.METRICS_TOKEN = "scrape-me"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").status_code == 200


def test_metrics_are_closed_without_a_token_unless_made_public(client, settings, db):
    settings.METRICS_TOKEN = ""
    settings.METRICS_PUBLIC = False
    closed = client.get("/metrics")
    assert closed.status_code == 403
    assert b"BALLAST_METRICS_TOKEN" in closed.content and b"ballast_" not in closed.content
    settings.METRICS_PUBLIC = True
    public = client.get("/metrics")
    assert public.status_code == 200 and b"ballast_plans" in public.content


def gauge(client, name: str, **labels) -> float | None:
    """One sample of a family on /metrics, or None when it is absent."""
    return samples(client).get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = "scrape-me"
    return lambda name, **labels: gauge(client, name, **labels)


def test_queue_length_counts_what_waits_in_redis_priorities_included(scrape, db, settings):
    from controlplane import celery_state

    redis = celery_state.redis_client(settings.CELERY_BROKER_URL)
    before = scrape("ballast_celery_queue_length", queue="webhooks")
    # No worker runs here: the messages wait. The third goes to the queue's priority-3 list.
    sent = [
        celery_app.send_task("tests.observability.waiting", queue="webhooks", priority=priority).id
        for priority in (None, None, 5)
    ]
    try:
        assert scrape("ballast_celery_queue_length", queue="webhooks") == before + 3
        assert scrape("ballast_celery_queue_length", queue="gpu") is not None
    finally:
        for key in celery_state.queue_keys("webhooks"):
            for message in redis.lrange(key, 0, -1):
                if any(task_id.encode() in message for task_id in sent):
                    redis.lrem(key, 1, message)
    assert scrape("ballast_celery_queue_length", queue="webhooks") == before


def test_queue_gauges_are_absent_without_a_redis_broker(scrape, db, settings):
    settings.CELERY_BROKER_URL = "filesystem://"
    assert scrape("ballast_celery_queue_length", queue="cpu") is None
    assert scrape("ballast_celery_workers", queue="cpu") is None
    assert scrape("ballast_plans", status="applied") is not None


@celery_app.task(name="tests.observability.flaky", bind=True)
def flaky(self, outcome: str):
    """Succeeds, fails, or retries once and then succeeds."""
    if outcome == "fail":
        raise ValueError("asked to fail")
    if outcome == "retry":
        raise self.retry(args=("succeed",), countdown=0)
    return outcome


def test_task_states_are_counted_from_celery_s_signals(scrape, db):
    def count(state):
        return scrape("ballast_celery_tasks_total", task="tests.observability.flaky", state=state)

    before = {state: count(state) or 0 for state in ("succeeded", "failed", "retried")}
    flaky.apply(args=("succeed",))
    flaky.apply(args=("fail",))
    flaky.apply(args=("retry",))  # eagerly retried: one retry, then one success
    assert count("succeeded") == before["succeeded"] + 2
    assert count("failed") == before["failed"] + 1
    assert count("retried") == before["retried"] + 1


def test_metric_source_lag_and_staleness_follow_the_newest_samples(scrape, team_a):
    from datetime import timedelta

    from django.utils import timezone

    from apps.workloads.models import MetricObservation, MetricSource
    from apps.workloads.tests.factories import WorkloadFactory

    def lag():
        return scrape("ballast_metric_source_lag_max_seconds")

    def stale():
        return scrape("ballast_metric_sources_stale")

    assert (lag(), stale()) == (0, 0)
    workload = WorkloadFactory(team=team_a)
    source = dict(base_url="http://prometheus:9090", promql="up")
    MetricSource.objects.create(workload=workload, series="requests", **source)
    assert lag() < 30 and stale() == 0  # new, no sample yet: its age counts from its creation
    now = timezone.now()
    point = MetricObservation.objects.create(
        workload=workload, series="requests", ts=now - timedelta(minutes=10), value=1
    )
    assert lag() == pytest.approx(600, abs=30) and stale() == 1
    # A disabled source, however far behind, and another series' samples change nothing.
    MetricSource.objects.create(workload=workload, series="cpu", enabled=False, **source)
    MetricObservation.objects.create(
        workload=workload, series="cpu", ts=now - timedelta(days=2), value=1
    )
    MetricObservation.objects.create(workload=workload, series="latency", ts=now, value=1)
    assert lag() == pytest.approx(600, abs=30) and stale() == 1
    MetricObservation.objects.create(
        workload=workload, series="requests", ts=point.ts + timedelta(minutes=9), value=1
    )
    assert lag() == pytest.approx(60, abs=30) and stale() == 0


def test_plan_age_and_apply_failures_follow_the_plans(scrape, proposed):
    from datetime import timedelta

    from django.utils import timezone

    from apps.plans import audit
    from apps.plans.lifecycle import transition
    from apps.plans.models import AuditEvent, PlanStatus, ScalingPlan

    def age():
        return scrape("ballast_plan_age_max_seconds")

    def failures():
        return scrape("ballast_plan_apply_failures_1h")

    now = timezone.now()
    assert (age(), failures()) == (0, 0)
    plans = ScalingPlan.objects.filter(pk=proposed.pk)
    plans.update(status=PlanStatus.APPLIED, applied_at=now - timedelta(hours=2))
    assert age() == pytest.approx(7200, abs=30)
    newer = ScalingPlan.objects.get(pk=proposed.pk)
    newer.pk = None
    newer.applied_at = now - timedelta(minutes=30)
    newer.save()
    assert age() == pytest.approx(1800, abs=30)  # a workload's plan in force is its newest
    ScalingPlan.objects.filter(workload=proposed.workload).update(status=PlanStatus.SUPERSEDED)
    assert age() == 0

    plans.update(status=PlanStatus.APPLYING)
    transition(proposed.pk, PlanStatus.FAILED, reason="the target refused", message="refused")
    assert failures() == 1
    audit.record(ScalingPlan.objects.get(pk=proposed.pk), "plan.rollback_failed", reason="no")
    assert failures() == 2
    # An hour ago, and a plan that failed while it was built, are not apply failures.
    team_id = proposed.workload.team_id
    AuditEvent.objects.create(
        at=now - timedelta(minutes=61),
        actor="system",
        via="system",
        action="plan.failed",
        team_id=team_id,
        from_status=PlanStatus.APPLYING,
        to_status=PlanStatus.FAILED,
    )
    AuditEvent.objects.create(
        actor="system",
        via="system",
        action="plan.failed",
        team_id=team_id,
        from_status=PlanStatus.DRAFT,
        to_status=PlanStatus.FAILED,
    )
    assert failures() == 2


def test_webhook_delivery_failures_of_the_last_hour(scrape, team_a):
    from datetime import timedelta

    from django.utils import timezone

    from apps.webhooks.models import Webhook, WebhookDelivery
    from apps.webhooks.services import attempt_delivery

    def failures():
        return scrape("ballast_webhook_delivery_failures_1h")

    hook = Webhook.objects.create(
        team=team_a, url="https://hooks.example.com/x", events=["plan.applied"], active=False
    )
    delivery = WebhookDelivery.objects.create(webhook=hook, event="plan.applied", payload={})
    assert failures() == 0
    attempt_delivery(delivery.pk)  # the webhook was deactivated: failed for good
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "failed"
    assert failures() == 1
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    assert failures() == 0


@pytest.mark.integration
def test_a_live_worker_is_counted_on_its_queues_and_serves_its_task_states(
    scrape, transactional_db, tmp_path
):
    import time
    import urllib.request
    from datetime import timedelta

    from django.utils import timezone

    from tests.integration.conftest import database_url
    from tests.servers import free_port

    def workers(queue):
        return scrape("ballast_celery_workers", queue=queue)

    def worker_states():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                text = response.read().decode()
        except OSError:
            return {}
        return {
            s.labels["state"]: s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == "ballast_celery_tasks_total"
            and s.labels["task"] == "apps.plans.tasks.expire_plans"
        }

    def wait_for(predicate, what):
        deadline = time.monotonic() + 60
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.2)

    assert (workers("control"), workers("gpu")) == (0, 0)
    port = free_port()
    env = os.environ | {"DATABASE_URL": database_url(), "BALLAST_WORKER_METRICS_PORT": str(port)}
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "controlplane", "worker", "-Q", "control"]
        + ["--pool=solo", "-n", "metrics@%h", "--without-mingle", "--without-gossip"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: workers("control") == 1, "the worker's presence")
        assert workers("gpu") == 0
        celery_app.send_task("apps.plans.tasks.expire_plans", queue="control")
        expired = timezone.now() - timedelta(minutes=1)
        celery_app.send_task("apps.plans.tasks.expire_plans", queue="control", expires=expired)
        wait_for(lambda: worker_states().keys() >= {"succeeded", "revoked"}, "the task states")
        assert worker_states() == {"succeeded": 1, "revoked": 1}
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        log.close()
    assert workers("control") == 0  # it withdrew as it stopped
