"""A plan's forecast that trains the LSTM runs on the gpu queue, with real workers.

A worker without the gpu queue takes the plan's chain as far as its forecast and no further: the
forecast waits on `gpu`; a second worker that takes only `gpu` computes it, and the plan goes
on to its proposal on the first.
"""

import json
import re
import time

import redis
from django.conf import settings

from apps.forecasts.models import ForecastRun
from apps.kernel.tasks import Queue
from apps.plans import services
from apps.plans.models import ScalingPlan
from tests.integration.conftest import start_worker, stop_worker


def wait_for(check, *, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return found


def test_a_plans_auto_forecast_waits_for_the_gpu_worker_and_runs_there(
    transactional_db, tmp_path, online_workload, sre_user, django_capture_on_commit_callbacks
):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(Queue.GPU.value)
    others = [queue for queue in Queue if queue != Queue.GPU]
    cpu_log, gpu_log = tmp_path / "cpu-worker.log", tmp_path / "gpu-worker.log"
    cpu_worker = start_worker(others, cpu_log)
    gpu_worker = None
    try:
        with django_capture_on_commit_callbacks(execute=True):
            plan = services.request_plan(workload=online_workload, by=sre_user, via="test")

        # The cpu worker attached a new auto run and sent it to gpu; nobody computes it there.
        [raw] = wait_for(
            lambda: broker.lrange(Queue.GPU.value, 0, -1), seconds=60, what="a gpu message"
        )
        assert json.loads(raw)["headers"]["task"] == "apps.plans.tasks.compute_plan_forecast"
        plan.refresh_from_db()
        run = plan.forecast_run
        assert (plan.status, run.model, run.status) == ("draft", "auto", "queued")
        time.sleep(2)
        assert ForecastRun.objects.get(pk=run.pk).status == "queued"

        gpu_worker = start_worker([Queue.GPU], gpu_log)
        done = wait_for(
            lambda: ScalingPlan.objects.exclude(status="draft").filter(pk=plan.pk).first(),
            seconds=300,
            what="the plan to leave draft",
        )
    finally:
        for process in (gpu_worker, cpu_worker):
            if process is not None:
                stop_worker(process)

    assert done.status == "proposed", done.message
    assert ForecastRun.objects.get(pk=run.pk).status == "succeeded"
    assert done.forecast_run_id == run.pk
    ran = re.compile(r"Task ([\w.]+)\[[-\w]+\] succeeded")  # the worker's log of each task
    assert ran.findall(gpu_log.read_text()) == ["apps.plans.tasks.compute_plan_forecast"]
    on_cpu = ran.findall(cpu_log.read_text())
    assert "apps.plans.tasks.compute_plan_forecast" not in on_cpu
    assert {"apps.plans.tasks.build_plan", "apps.plans.tasks.propose_plan"} <= set(on_cpu)
