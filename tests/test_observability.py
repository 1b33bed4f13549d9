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
