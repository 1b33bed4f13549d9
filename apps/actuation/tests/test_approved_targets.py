"""What is applied is what was approved: the targets a plan froze, once, by one copy."""

from apps.actuation.models import ApplyStep
from apps.plans import applying
from apps.plans.models import AuditEvent, ScalingPlan
from apps.workloads.models import DeploymentTarget
from conftest import field_errors

from .conftest import BEFORE, NAME, NS
from .test_apply import desired, start


def target_url(plan: ScalingPlan) -> str:
    target = plan.workload.targets.get(kind="k8s_deployment")
    return f"/api/v1/deployment-targets/{target.pk}/"


def test_a_plan_freezes_its_targets_and_a_change_supersedes_it_on_the_audit_trail(live_plan, ci_a):
    assert {(t["kind"], t["reference"], t["dry_run"]) for t in live_plan.targets} == {
        ("k8s_deployment", f"{NS}/{NAME}", False),
        ("k8s_hpa", f"{NS}/{NAME}", False),
    }
    response = ci_a.patch(target_url(live_plan), {"reference": "payments/checkout"})
    assert response.status_code == 200, response.data

    plan = ScalingPlan.objects.get(pk=live_plan.pk)
    assert plan.status == "superseded" and "k8s_deployment" in plan.message
    change = AuditEvent.objects.get(action="target.changed")
    assert change.actor == "ci-a" and change.plan_id is None
    assert change.detail["before"]["reference"] == f"{NS}/{NAME}"
    assert change.detail["after"]["reference"] == "payments/checkout"


def test_a_target_cannot_change_while_a_plan_is_applied_to_it(live_plan, ci_a, sre_a, cluster):
    start(live_plan, sre_a)
    response = ci_a.patch(target_url(live_plan), {"reference": "payments/checkout"})
    assert response.status_code == 409 and "being applied" in str(response.data)
    assert ci_a.delete(target_url(live_plan)).status_code == 409
    assert DeploymentTarget.objects.filter(reference="payments/checkout").count() == 0
    assert not AuditEvent.objects.filter(action__startswith="target.").exists()


def test_the_worker_applies_nothing_to_a_target_changed_behind_the_api(live_plan, sre_a, cluster):
    start(live_plan, sre_a)
    cluster.add_deployment("payments", "checkout", replicas=7)
    live_plan.workload.targets.filter(kind="k8s_deployment").update(reference="payments/checkout")

    applying.execute_apply(live_plan.pk)

    plan = ScalingPlan.objects.get(pk=live_plan.pk)
    assert plan.status == "failed" and "changed after the plan was proposed" in plan.message
    assert cluster.get("deployments", "payments", "checkout")["spec"]["replicas"] == 7
    assert cluster.get("deployments", NS, NAME)["spec"]["replicas"] == BEFORE
    assert not ApplyStep.objects.exists()


def test_a_second_copy_of_an_apply_does_nothing_while_the_first_holds_it(live_plan, sre_a, cluster):
    start(live_plan, sre_a)
    assert applying.claim_apply(live_plan.pk, "task-1")
    applying.execute_apply(live_plan.pk, claim="task-2")  # a duplicate delivery
    assert ScalingPlan.objects.get(pk=live_plan.pk).status == "applying"
    assert not ApplyStep.objects.exists()

    applying.execute_apply(live_plan.pk, claim="task-1")  # the holder (or its retry)
    assert ScalingPlan.objects.get(pk=live_plan.pk).status == "applied"
    first, _ = desired(live_plan)
    assert cluster.get("deployments", NS, NAME)["spec"]["replicas"] == first


def test_a_team_registers_only_the_references_an_operator_granted(ci_a, online_workload):
    team = online_workload.team
    team.target_references = ["inference/*"]
    team.save()
    body = {"workload": online_workload.pk, "kind": "k8s_deployment"}
    refused = ci_a.post("/api/v1/deployment-targets/", {**body, "reference": "payments/api"})
    assert refused.status_code == 400
    assert "not granted to team" in field_errors(refused)["reference"][0]
    granted = ci_a.post("/api/v1/deployment-targets/", {**body, "reference": "inference/ranker"})
    assert granted.status_code == 201, granted.data
    assert AuditEvent.objects.get(action="target.created").detail["before"] is None
