"""The sweeper: plans left in draft or applying by a lost task end failed, on the audit trail."""

from datetime import timedelta

from django.utils import timezone

from apps.plans import sweeper, tasks
from apps.plans.models import AuditEvent, ScalingPlan


def draft(ci_a, workload) -> ScalingPlan:
    """A requested plan whose chain never ran (the test database never commits)."""
    response = ci_a.post("/api/v1/plans/", {"workload": workload.pk}, format="json")
    assert response.status_code == 202, response.data
    return ScalingPlan.objects.get(pk=response.data["id"])


def applying_plan(proposed, sre_a) -> ScalingPlan:
    assert sre_a.post(f"/api/v1/plans/{proposed.pk}/approve/").status_code == 200
    assert sre_a.post(f"/api/v1/plans/{proposed.pk}/apply/").status_code == 202
    plan = ScalingPlan.objects.get(pk=proposed.pk)
    assert plan.status == "applying"
    return plan


def test_a_draft_older_than_the_threshold_is_failed_with_the_reason_on_its_trail(
    ci_a, online_workload
):
    plan = draft(ci_a, online_workload)
    later = plan.created_at + sweeper.DRAFT_STUCK_AFTER + timedelta(minutes=1)

    assert sweeper.sweep_stuck_plans(now=later) == 1

    plan.refresh_from_db()
    assert plan.status == "failed"
    assert plan.message.startswith("still a draft 31 min after it was requested")
    event = AuditEvent.objects.get(plan_id=plan.pk, action="plan.failed")
    assert (event.from_status, event.to_status, event.via) == ("draft", "failed", "system")
    assert event.reason == plan.message
    assert sweeper.sweep_stuck_plans(now=later) == 0  # once


def test_a_young_draft_and_plans_in_other_states_are_left_alone(ci_a, online_workload, proposed):
    plan = draft(ci_a, online_workload)
    soon = plan.created_at + sweeper.DRAFT_STUCK_AFTER - timedelta(minutes=1)
    much_later = timezone.now() + timedelta(days=1)

    assert sweeper.sweep_stuck_plans(now=soon) == 0
    ScalingPlan.objects.filter(pk=plan.pk).update(status="rejected")
    assert sweeper.sweep_stuck_plans(now=much_later) == 0
    assert ScalingPlan.objects.get(pk=proposed.pk).status == "proposed"  # expiry's business


def test_an_apply_stuck_past_the_threshold_fails_and_offers_the_rollback(proposed, sre_a):
    plan = applying_plan(proposed, sre_a)
    started = plan.updated_at

    assert sweeper.sweep_stuck_plans(now=started + sweeper.APPLYING_STUCK_AFTER / 2) == 0
    assert sweeper.sweep_stuck_plans(now=started + sweeper.APPLYING_STUCK_AFTER * 2) == 1

    plan.refresh_from_db()
    assert plan.status == "failed" and "still applying 40 min" in plan.message
    assert "rollback is offered" in plan.message
    event = AuditEvent.objects.get(plan_id=plan.pk, action="plan.failed")
    assert (event.from_status, event.to_status) == ("applying", "failed")
    # A failed plan may roll back; this one's apply never ran, so there is nothing to undo.
    response = sre_a.post(f"/api/v1/plans/{plan.pk}/rollback/")
    assert response.status_code == 409 and "changed nothing" in str(response.data)


def test_an_apply_that_finished_meanwhile_is_not_failed(proposed, sre_a, monkeypatch):
    plan = applying_plan(proposed, sre_a)
    later = plan.updated_at + sweeper.APPLYING_STUCK_AFTER * 2
    found = sweeper.stuck_plans(later)
    assert [row[0] for row in found] == [plan.pk]
    # The apply's task finishes between the sweeper's query and its transition.
    ScalingPlan.objects.filter(pk=plan.pk).update(status="applied")
    monkeypatch.setattr(sweeper, "stuck_plans", lambda now: found)

    assert sweeper.sweep_stuck_plans(now=later) == 0
    assert ScalingPlan.objects.get(pk=plan.pk).status == "applied"


def test_the_thresholds_outlast_every_task_that_may_still_move_the_plan():
    # A draft: its chain, every link at its hard time limit, ends before the sweeper acts.
    chain = [tasks.forecast_for_plan, tasks.compute_plan_forecast, tasks.build_plan]
    chain += [tasks.measure_candidates]
    chain_s = sum(task.time_limit for task in chain) + tasks.propose_plan.time_limit
    assert timedelta(seconds=chain_s) < sweeper.DRAFT_STUCK_AFTER
    # An apply: every attempt at its hard limit, and the longest backoff between them.
    attempts = tasks.RETRIES + 1
    backoff_s = sum(2 ** (n + 1) * 1.2 for n in range(tasks.RETRIES))
    apply_s = attempts * tasks.apply_plan.time_limit + backoff_s
    assert timedelta(seconds=apply_s) < sweeper.APPLYING_STUCK_AFTER


def test_beat_runs_the_sweeper_every_five_minutes(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-stuck-plans"]
    assert (entry["task"], entry["schedule"]) == ("apps.plans.tasks.sweep_stuck_plans", 300.0)
    assert entry["options"]["expires"] < 300.0  # a backlog holds no stale sweep
    assert tasks.sweep_stuck_plans.name == entry["task"]
