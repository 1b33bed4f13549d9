"""Applying plans to a Kubernetes API over its real wire protocol, with the faults of real life.

The cluster is `tests/actuators/k8s_api_server.py`: real Kubernetes JSON, resourceVersions,
Status errors (404, 409, 422), and hooks to fail, delay or change objects behind our back.
"""

import pytest

from apps.actuation import services
from apps.actuation.models import ApplyStep, RecordedState
from apps.plans import applying, tasks
from apps.plans.models import ScalingPlan

from .conftest import BEFORE, NAME, NS


def desired(plan):
    totals = [sum(p.count for p in row) for row in plan.chosen.schedule]
    return totals[0], max(totals)


def start(plan, sre_a):
    response = sre_a.post(f"/api/v1/plans/{plan.pk}/apply/")
    assert response.status_code == 202, response.data
    return response


def test_an_apply_sets_every_target_reads_back_and_records_the_state_before(
    live_plan, cluster, sre_a
):
    first, peak = desired(live_plan)
    start(live_plan, sre_a)

    applying.execute_apply(live_plan.pk)

    assert ScalingPlan.objects.get(pk=live_plan.pk).status == "applied"
    assert cluster.get("deployments", NS, NAME)["spec"]["replicas"] == first
    hpa = cluster.get("horizontalpodautoscalers", NS, NAME)["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (max(1, first), max(1, peak))
    states = {r.target.kind: r.state for r in RecordedState.objects.select_related("target")}
    assert states == {
        "k8s_deployment": {"replicas": BEFORE},
        "k8s_hpa": {"min_replicas": 2, "max_replicas": 10},
    }
    assert all(s.verified and not s.dry_run for s in ApplyStep.objects.all())


def test_a_worker_killed_after_a_write_does_not_scale_twice(live_plan, cluster, sre_a, monkeypatch):
    start(live_plan, sre_a)
    finish = services._finish
    calls = []

    def killed_after_first_write(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise SystemExit("worker killed")  # after the PATCH, before anything is recorded
        return finish(*args, **kwargs)

    monkeypatch.setattr(services, "_finish", killed_after_first_write)
    with pytest.raises(SystemExit):
        applying.execute_apply(live_plan.pk, claim="task-1")
    monkeypatch.setattr(services, "_finish", finish)

    applying.execute_apply(live_plan.pk, claim="task-1")  # the redelivered task, same id

    assert ScalingPlan.objects.get(pk=live_plan.pk).status == "applied"
    scale_writes = [
        r
        for r in cluster.requests
        if r.method == "PATCH"
        and r.path.endswith(f"/deployments/{NAME}")
        and "replicas" in r.body.get("spec", {})
    ]
    assert len(scale_writes) == 1  # the replicas were set once, not again on redelivery


def test_a_conflict_on_update_is_re_read_and_retried(live_plan, cluster, sre_a):
    start(live_plan, sre_a)
    cluster.fail_next(409, method="PATCH")  # someone else wrote first: re-read, then retried

    applying.execute_apply(live_plan.pk)

    assert ScalingPlan.objects.get(pk=live_plan.pk).status == "applied"
    assert cluster.get("deployments", NS, NAME)["spec"]["replicas"] == desired(live_plan)[0]


def test_throttling_is_retried_with_backoff_then_fails_the_plan(
    live_plan, cluster, sre_a, settings
):
    start(live_plan, sre_a)
    cluster.fail_next(429, times=1000, method="PATCH")
    settings.CELERY_TASK_ALWAYS_EAGER = True  # retries run at once, countdowns ignored

    tasks.apply_plan.apply((live_plan.pk,))

    plan = ScalingPlan.objects.get(pk=live_plan.pk)
    assert plan.status == "failed" and "gave up after retries" in plan.message
    assert "429" in plan.message
    assert not ApplyStep.objects.filter(status="applied").exists()
    assert cluster.get("deployments", NS, NAME)["spec"]["replicas"] == BEFORE


def test_an_invalid_step_stops_the_apply_and_a_rollback_restores_the_recorded_state(
    live_plan, cluster, sre_a
):
    start(live_plan, sre_a)
    # The HPA refuses its first change (422): the Deployment before it was already scaled.
    cluster.fail_next(422, method="PATCH", after=1)

    applying.execute_apply(live_plan.pk)

    plan = ScalingPlan.objects.get(pk=live_plan.pk)
    assert plan.status == "failed" and "rollback is offered" in plan.message
    assert sre_a.post(f"/api/v1/plans/{plan.pk}/rollback/").status_code == 202
    applying.execute_rollback(plan.pk)
    assert ScalingPlan.objects.get(pk=plan.pk).status == "rolled_back"
    assert cluster.get("deployments", NS, NAME)["spec"]["replicas"] == BEFORE
    hpa = cluster.get("horizontalpodautoscalers", NS, NAME)["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10)


def test_a_target_changed_by_someone_else_since_planning_makes_the_plan_stale(
    live_plan, cluster, sre_a
):
    cluster.edit("deployments", NS, NAME, lambda d: d["spec"].update(replicas=7))

    response = sre_a.post(f"/api/v1/plans/{live_plan.pk}/apply/")

    assert response.status_code == 409 and "stale" in response.data["detail"]
    assert cluster.get("deployments", NS, NAME)["spec"]["replicas"] == 7


def test_a_missing_object_fails_the_plan_with_its_name(live_plan, cluster, sre_a):
    start(live_plan, sre_a)
    cluster.objects.pop(("deployments", NS, NAME))

    applying.execute_apply(live_plan.pk)

    plan = ScalingPlan.objects.get(pk=live_plan.pk)
    assert plan.status == "failed" and "not found" in plan.message


def test_a_live_target_without_a_connection_is_refused(
    online_workload, stored_forecast, build, ci_a, sre_a
):
    online_workload.targets.update(dry_run=False)
    plan_id = ci_a.post("/api/v1/plans/", {"workload": online_workload.pk}).data["id"]
    build(plan_id)
    sre_a.post(f"/api/v1/plans/{plan_id}/approve/")
    sre_a.post(f"/api/v1/plans/{plan_id}/apply/")

    applying.execute_apply(plan_id)

    plan = ScalingPlan.objects.get(pk=plan_id)
    assert plan.status == "failed" and "no Kubernetes connection is configured" in plan.message


def test_dry_run_targets_are_validated_by_the_api_server_and_left_unchanged(
    cluster, online_workload, stored_forecast, build, ci_a, sre_a
):
    cluster.add_deployment(NS, NAME, replicas=3)
    plan_id = ci_a.post("/api/v1/plans/", {"workload": online_workload.pk}).data["id"]
    build(plan_id)
    sre_a.post(f"/api/v1/plans/{plan_id}/approve/")
    sre_a.post(f"/api/v1/plans/{plan_id}/apply/")

    applying.execute_apply(plan_id)

    assert ScalingPlan.objects.get(pk=plan_id).status == "applied"
    assert cluster.get("deployments", NS, NAME)["spec"]["replicas"] == 3
    assert all(step.dry_run for step in ApplyStep.objects.all())
