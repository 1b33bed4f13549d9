"""Batch plans: the next run on spot with checkpoints inside its window, replayed and enacted.

Approved, applied and enacted hour by hour on an Auto Scaling group (boto3 over HTTP to moto).
"""

from datetime import timedelta

import pytest

from apps.plans import applying
from apps.plans.models import AuditEvent, Guardrail, ScalingPlan
from apps.plans.spend import option_shares
from optimization.batch import DEADLINE_MISS_ALLOWED
from tests.actuators.test_aws import make_group


def request(client, workload):
    response = client.post("/api/v1/plans/", {"workload": workload.pk}, format="json")
    assert response.status_code == 202, response.data
    return response.data["id"]


def test_a_batch_plan_is_the_cheapest_schedule_that_meets_the_deadline_in_simulated_runs(
    ci_a, batch_workload, build
):
    plan_id = request(ci_a, batch_workload)
    build(plan_id)
    plan = ScalingPlan.objects.get(pk=plan_id)

    assert plan.status == "proposed", plan.message
    assert plan.is_batch and plan.forecast_run is None
    assert (plan.start_at.hour, plan.start_at.minute) == (1, 0) and plan.start_at > plan.created_at
    assert plan.start_at - plan.created_at <= timedelta(days=1)
    front = plan.front
    # Spot with checkpoints at several margins of spare work, and on-demand alone.
    assert {"spot", "on_demand"} <= {o for c in front for o in c["purchase_options"]}
    assert any(c["purchase_options"] == ["on_demand"] for c in front)
    offers = {o["name"]: o for o in plan.problem["offers"]}
    for candidate in front:
        assert candidate["measured"]["runs"] >= 100, candidate["measured_note"]
        late = candidate["measured"]["sla_violation_rate"]
        assert candidate["meets_sla"] == (late <= DEADLINE_MISS_ALLOWED)
        # No spot in the intervals where a reclaim could not be recovered before the deadline.
        for row in candidate["schedule"][candidate["spot_until_interval"] :]:
            assert all(offers[e["offer"]]["purchase_option"] != "spot" for e in row)
    meeting = [c for c in front if c["meets_sla"]]
    chosen = plan.chosen
    assert chosen.meets_sla
    assert chosen.measured["cost_per_day_usd"] == min(
        c["measured"]["cost_per_day_usd"] for c in meeting
    )
    # Spot with checkpoints pays here: on-demand alone costs more than twice as much.
    assert "spot" in chosen.purchase_options
    assert 2 * chosen.cost_usd < min(
        c["cost_usd"] for c in front if c["purchase_options"] == ["on_demand"]
    )
    # Spend reads one run a day, split by purchase option.
    assert sum(option_shares(plan).values()) == pytest.approx(chosen.cost_per_day_usd)
    assert "simulated runs miss the deadline" in plan.guardrail_checks[0]["detail"]
    reason = AuditEvent.objects.get(plan_id=plan_id, to_status="proposed").reason
    assert "schedules for the next run" in reason and "miss the deadline" in reason


def test_a_batch_plan_keeps_within_the_teams_guardrails(ci_a, batch_workload, build, team_a):
    Guardrail.objects.create(team=team_a, min_replicas=1, max_scale_step=1, budget_per_day_usd=400)
    plan_id = request(ci_a, batch_workload)
    build(plan_id)
    plan = ScalingPlan.objects.get(pk=plan_id)

    assert plan.status == "proposed", plan.message
    for candidate in plan.front:
        fleet = [0, *candidate["replicas"]]  # a run starts from none
        assert min(candidate["replicas"]) >= 1
        assert max(abs(b - a) for a, b in zip(fleet, fleet[1:], strict=False)) <= 1
    assert all(check["ok"] for check in plan.guardrail_checks), plan.guardrail_checks


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"items_per_run": None}, "items_per_run"),
        ({"min_accuracy": 0.95}, "accuracy floor 0.95"),
        ({"items_per_run": 1e12}, "deadline_s"),
    ],
)
def test_a_batch_plan_that_cannot_be_made_fails_naming_what_is_missing(
    ci_a, batch_workload, build, change, message
):
    type(batch_workload.sla).objects.filter(pk=batch_workload.sla.pk).update(**change)
    plan_id = request(ci_a, batch_workload)
    build(plan_id)
    plan = ScalingPlan.objects.get(pk=plan_id)
    assert plan.status == "failed" and message in plan.message


def test_an_applied_batch_plan_runs_its_schedule_interval_by_interval_and_nothing_outside(
    aws, aws_connected, ci_a, sre_a, batch_workload, build
):
    make_group(aws, "embedding-refresh")
    batch_workload.targets.all().delete()
    batch_workload.targets.create(kind="aws_asg", reference="embedding-refresh", dry_run=False)
    plan_id = request(ci_a, batch_workload)
    build(plan_id)
    assert sre_a.post(f"/api/v1/plans/{plan_id}/approve/").status_code == 200
    assert sre_a.post(f"/api/v1/plans/{plan_id}/apply/").status_code == 202
    applying.execute_apply(plan_id)
    plan = ScalingPlan.objects.get(pk=plan_id)
    assert plan.status == "applied", plan.message
    # The next night's plan is priced against what runs now: this plan's run, once a day.
    following = request(ci_a, batch_workload)
    build(following)
    assert ScalingPlan.objects.get(pk=following).current_cost_per_day_usd == pytest.approx(
        plan.expected_cost_per_day_usd
    )

    def group_now():
        groups = aws("autoscaling").describe_auto_scaling_groups(
            AutoScalingGroupNames=["embedding-refresh"]
        )["AutoScalingGroups"][0]
        base = groups["MixedInstancesPolicy"]["InstancesDistribution"]["OnDemandBaseCapacity"]
        return groups["DesiredCapacity"], base

    assert group_now() == (0, 0)  # applied before the window: nothing runs yet
    offers = {o["name"]: o["purchase_option"] for o in plan.problem["offers"]}
    schedule = plan.chosen.to_json()["schedule"]
    for index, row in enumerate(schedule):
        at = plan.start_at + timedelta(seconds=index * plan.interval_s + 90)
        assert applying.enact_batch_schedules(at) == 1
        steps = AuditEvent.objects.filter(plan_id=plan_id, action="plan.control_step").count()
        assert applying.enact_batch_schedules(at + timedelta(minutes=1)) == 1
        # A second tick in the same interval changes nothing and records nothing.
        assert AuditEvent.objects.filter(plan_id=plan_id, action="plan.control_step").count() == (
            steps
        )
        non_spot = sum(e["count"] for e in row if offers[e["offer"]] != "spot")
        assert group_now() == (sum(e["count"] for e in row), non_spot), index
        if index == 1:  # the next night's plan, applied while tonight's runs, leaves it alone
            tomorrow = ScalingPlan.objects.get(pk=plan_id)
            tomorrow.pk, tomorrow.applied_at = None, at
            tomorrow.start_at = plan.start_at + timedelta(days=1)
            tomorrow.save()
            applying.enact_batch_schedules(at + timedelta(minutes=2))
            assert group_now() == (sum(e["count"] for e in row), non_spot)
    end = plan.start_at + timedelta(seconds=len(schedule) * plan.interval_s)
    applying.enact_batch_schedules(end)
    assert group_now() == (0, 0)
    assert AuditEvent.objects.filter(plan_id=plan_id, action="plan.control_step").exists()


def test_the_batch_plan_page_shows_the_run_and_its_simulated_deadline_misses(
    ci_a, sre_a, batch_workload, build, django_user_model
):
    from django.test import Client

    plan_id = request(ci_a, batch_workload)
    build(plan_id)
    client = Client()
    client.force_login(django_user_model.objects.get(username="sre-a"))
    page = client.get(f"/plans/{plan_id}/").content.decode()
    assert "simulated runs with spot reclaims" in page and "miss the deadline" in page
    assert "work x1.1" in page or "work x1.25" in page
    assert "share of simulated runs that miss the deadline" in page  # the front's axis
    workload_page = client.get(f"/workloads/{batch_workload.pk}/").content.decode()
    assert "SLA: 20000000 items each night from 01:00 UTC within 6 h." in workload_page
