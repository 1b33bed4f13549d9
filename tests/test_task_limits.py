"""Every task has time limits, and a task stopped by one leaves its row failed, never RUNNING."""

import pytest
from celery.contrib.testing.mocks import TaskMessage
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery.worker.request import Request
from django.conf import settings
from django.utils import timezone

from apps.forecasts import tasks as forecast_tasks
from apps.forecasts.models import ForecastRun
from apps.kernel.runs import STALE_AFTER
from apps.kernel.tasks import Queue
from apps.plans import services as plan_services
from apps.plans import tasks as plan_tasks
from apps.plans.models import AuditEvent, ScalingPlan
from apps.webhooks import tasks as webhook_tasks
from controlplane.celery import app

REDIS_VISIBILITY_TIMEOUT_S = 3600  # kombu's default: an unacknowledged task is redelivered after


def project_tasks():
    app.loader.import_default_modules()
    return sorted(
        (task for name, task in app.tasks.items() if name.startswith("apps.")),
        key=lambda task: task.name,
    )


def limits(task) -> tuple[float, float]:
    soft = task.soft_time_limit or app.conf.task_soft_time_limit
    hard = task.time_limit or app.conf.task_time_limit
    return soft, hard


def test_the_defaults_come_from_the_settings():
    assert (settings.CELERY_TASK_SOFT_TIME_LIMIT, settings.CELERY_TASK_TIME_LIMIT) == (600, 660)
    assert (app.conf.task_soft_time_limit, app.conf.task_time_limit) == (600, 660)


@pytest.mark.parametrize("task", project_tasks(), ids=lambda task: task.name)
def test_every_task_stops_softly_then_hard_before_a_run_is_taken_over(task):
    soft, hard = limits(task)
    assert 0 < soft < hard, (soft, hard)
    assert hard < STALE_AFTER.total_seconds() < REDIS_VISIBILITY_TIMEOUT_S
    assert task.queue in {queue.value for queue in Queue}


def test_long_and_short_tasks_name_their_own_limits():
    assert limits(forecast_tasks.run_forecast) == (1500, 1560)  # LSTM training on a CPU
    assert limits(plan_tasks.run_optimization) == (1500, 1560)  # GA-PSO on a CPU
    assert limits(plan_tasks.apply_plan) == (100, 120)
    assert limits(webhook_tasks.deliver_webhook) == (30, 45)
    from apps.control import tasks as control_tasks

    assert limits(control_tasks.control_step)[1] < settings.CONTROL_STEP_S


def test_actuation_and_webhooks_have_their_own_queues():
    actuation = {plan_tasks.apply_plan, plan_tasks.rollback_plan, plan_tasks.enact_batch_schedules}
    assert {task.queue for task in actuation} == {"actuation"}
    hooks = {webhook_tasks.deliver_webhook, webhook_tasks.requeue_overdue_webhook_deliveries}
    assert {task.queue for task in hooks} == {"webhooks"}
    others = set(project_tasks()) - actuation - hooks
    assert not {task.queue for task in others} & {"actuation", "webhooks"}


@pytest.fixture
def running_forecast(online_workload, sre_user):
    return ForecastRun.objects.create(
        workload=online_workload,
        horizon=24,
        quantiles=[0.5],
        requested_by=sre_user,
        status=ForecastRun.Status.RUNNING,
        started_at=timezone.now(),
    )


def hard_timeout_in_the_worker(task, *args) -> None:
    """What the worker's main process does when the hard limit kills the task's process."""
    request = Request(TaskMessage(task.name, args=args), app=app, task=task)
    request.on_timeout(soft=False, timeout=task.time_limit)


def test_a_run_killed_by_its_hard_limit_is_failed_by_the_worker(running_forecast):
    hard_timeout_in_the_worker(forecast_tasks.run_forecast, running_forecast.pk)

    run = ForecastRun.objects.get(pk=running_forecast.pk)
    assert run.status == "failed" and run.finished_at is not None
    assert run.message == "stopped by the worker: ran past its hard time limit of 1560 s"


def test_a_finished_run_keeps_its_result(running_forecast):
    ForecastRun.objects.filter(pk=running_forecast.pk).update(status="succeeded")
    error = TimeLimitExceeded(1560)

    forecast_tasks.run_forecast.on_failure(error, "id", (running_forecast.pk,), {}, None)

    assert ForecastRun.objects.get(pk=running_forecast.pk).status == "succeeded"


def test_a_plan_link_stopped_by_its_soft_limit_fails_the_draft(ci_a, online_workload, monkeypatch):
    response = ci_a.post("/api/v1/plans/", {"workload": online_workload.pk}, format="json")
    plan_id = response.data["id"]

    def too_slow(plan_id):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(plan_services, "pose_plan", too_slow)
    plan_tasks.build_plan.apply((plan_id,))

    plan = ScalingPlan.objects.get(pk=plan_id)
    assert plan.status == "failed"
    assert plan.message == (
        "building the plan stopped by the worker: ran past its soft time limit of 240 s"
    )
    assert AuditEvent.objects.filter(plan_id=plan_id, action="plan.failed").exists()


def test_a_chord_part_killed_by_its_hard_limit_fails_the_draft(ci_a, online_workload):
    response = ci_a.post("/api/v1/plans/", {"workload": online_workload.pk}, format="json")

    hard_timeout_in_the_worker(plan_tasks.measure_candidates, response.data["id"], [0, 1])

    plan = ScalingPlan.objects.get(pk=response.data["id"])
    assert plan.status == "failed" and "hard time limit of 300 s" in plan.message


def test_an_apply_stopped_by_its_limit_fails_the_plan_and_offers_the_rollback(
    proposed, sre_a, monkeypatch
):
    assert sre_a.post(f"/api/v1/plans/{proposed.pk}/approve/").status_code == 200
    assert sre_a.post(f"/api/v1/plans/{proposed.pk}/apply/").status_code == 202

    def too_slow(plan_id, **kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(plan_tasks.applying, "execute_apply", too_slow)
    plan_tasks.apply_plan.apply((proposed.pk,))

    plan = ScalingPlan.objects.get(pk=proposed.pk)
    assert plan.status == "failed"
    assert plan.message == (
        "the apply stopped by the worker: ran past its soft time limit of 100 s; "
        "a rollback is offered"
    )


def test_the_hook_does_not_fail_a_plan_that_moved_on(proposed):
    error = TimeLimitExceeded(120)

    plan_tasks.apply_plan.on_failure(error, "id", (proposed.pk,), {}, None)
    plan_tasks.build_plan.on_failure(error, "id", (proposed.pk,), {}, None)

    assert ScalingPlan.objects.get(pk=proposed.pk).status == "proposed"
