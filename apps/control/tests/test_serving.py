"""The controller counts the replicas its targets have serving, not those it asked for.

An Auto Scaling group on moto's server (every launch is `InService` at once there; an instance
marked unhealthy plays one reclaimed or never launched) and an ALB listener whose function
weight the step writes.
"""

from datetime import timedelta

import pytest

from apps.control import services
from apps.control.models import ControlDecision, Controller
from apps.control.tests.test_controller import (  # noqa: F401  (fresh_workload: a fixture)
    MINUTE,
    START,
    approve_envelope,
    fresh_workload,
    push,
)
from apps.plans.models import AuditEvent
from apps.workloads.models import DeploymentTarget
from tests.actuators.test_aws import weights

LOAD = 60000.0  # requests a minute: 1000 rps, a few c6i.xlarge replicas' worth
SAVED = ("last_step", "policy_state", "feed_state", "router_state", "last_desired", "message")


def spot_group(aws) -> str:
    """A group of c6i.xlarge, all Spot above an On-Demand base of 0, as the controller sets it."""
    template = aws("ec2").create_launch_template(
        LaunchTemplateName="ranker-lt",
        LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "c6i.xlarge"},
    )["LaunchTemplate"]
    spec = {"LaunchTemplateId": template["LaunchTemplateId"], "Version": "$Latest"}
    policy = {
        "LaunchTemplate": {
            "LaunchTemplateSpecification": spec,
            "Overrides": [{"InstanceType": "c6i.xlarge"}],
        },
        "InstancesDistribution": {
            "OnDemandBaseCapacity": 0,
            "OnDemandPercentageAboveBaseCapacity": 0,
        },
    }
    aws("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName="ranker",
        MixedInstancesPolicy=policy,
        MinSize=0,
        MaxSize=100,
        DesiredCapacity=1,
        AvailabilityZones=["us-east-1a"],
    )
    return "ranker"


@pytest.fixture
def controlled(
    fresh_workload,  # noqa: F811  (the fixture imported above)
    alb,
    aws,
    aws_connected,
    sre_user,
):
    """The workload behind a live ALB listener and a live group, stepped for two minutes."""
    fresh_workload.targets.all().delete()
    for kind, reference in (("aws_alb_route", alb["listener"]), ("aws_asg", spot_group(aws))):
        DeploymentTarget.objects.create(
            workload=fresh_workload, kind=kind, reference=reference, dry_run=False
        )
    approve_envelope(fresh_workload, sre_user, replicas=1000)
    services.enable_controller(workload=fresh_workload)
    for minute in range(1, 3):
        push(fresh_workload, minute - 1, LOAD)
        assert services.run_step(fresh_workload.pk, now=START + minute * MINUTE).applied
    push(fresh_workload, 2, LOAD)
    return fresh_workload


def step_again(workload, saved: dict) -> ControlDecision:
    """Run minute 3's step from the state `saved` before it (its decision replaced)."""
    Controller.objects.filter(workload=workload).update(**saved)
    ControlDecision.objects.filter(workload=workload, step=3).delete()
    services.run_step(workload.pk, now=START + 3 * MINUTE + timedelta(seconds=7))
    return ControlDecision.objects.get(workload=workload, step=3)


def test_fewer_ready_replicas_than_asked_send_more_to_functions(controlled, alb, aws):
    saved = Controller.objects.filter(workload=controlled).values(*SAVED).get()
    asked = sum(n for *_, n in saved["last_desired"])
    group = aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=["ranker"])
    instances = [i["InstanceId"] for i in group["AutoScalingGroups"][0]["Instances"]]
    assert asked >= 2 and len(instances) == asked

    DeploymentTarget.objects.filter(workload=controlled, kind="aws_asg").update(dry_run=True)
    inferred = step_again(controlled, saved)  # a dry-run group is not read: inferred
    inferred_weight = weights(alb, alb["listener"])[alb["fn"]]
    DeploymentTarget.objects.filter(workload=controlled, kind="aws_asg").update(dry_run=False)
    for gone in instances[1:]:  # a reclaim wave leaves one replica serving
        aws("autoscaling").set_instance_health(InstanceId=gone, HealthStatus="Unhealthy")
    observed = step_again(controlled, saved)

    assert observed.applied and inferred.applied, (observed.outcome, inferred.outcome)
    assert observed.desired == inferred.desired  # the same decision ...
    weight = weights(alb, alb["listener"])[alb["fn"]]
    assert weight == round(100 * observed.serverless_share)
    assert weight > inferred_weight == round(100 * inferred.serverless_share)  # ... routed apart


def test_a_catch_up_reads_the_world_for_its_newest_step_only(controlled, aws):
    group = aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=["ranker"])
    for gone in [i["InstanceId"] for i in group["AutoScalingGroups"][0]["Instances"]][1:]:
        aws("autoscaling").set_instance_health(InstanceId=gone, HealthStatus="Unhealthy")
    push(controlled, 3, LOAD)

    report = services.run_step(controlled.pk, now=START + 4 * MINUTE + timedelta(seconds=7))

    shares = dict(
        ControlDecision.objects.filter(workload=controlled, step__gte=3).values_list(
            "step", "serverless_share"
        )
    )
    assert report.decided == 2 and report.applied
    assert shares[3] == 0.0 < shares[4]  # step 3 was not read when due: inferred, all ready


def test_a_failed_read_falls_back_to_the_decisions_and_is_audited_once_an_hour(
    fresh_workload,  # noqa: F811  (the fixture imported above)
    alb,
    aws_connected,
    sre_user,
):
    fresh_workload.targets.all().delete()
    for kind, reference in (("aws_alb_route", alb["listener"]), ("aws_asg", "gone")):
        DeploymentTarget.objects.create(
            workload=fresh_workload, kind=kind, reference=reference, dry_run=False
        )
    approve_envelope(fresh_workload, sre_user, replicas=1000)
    services.enable_controller(workload=fresh_workload)
    for minute in range(1, 4):
        push(fresh_workload, minute - 1, LOAD)
        report = services.run_step(fresh_workload.pk, now=START + minute * MINUTE)
        assert report.decided and not report.held

    events = AuditEvent.objects.filter(workload_id=fresh_workload.pk, action="control.unobserved")
    assert events.count() == 1
    assert "no Auto Scaling group named 'gone'" in events.get().reason
    assert "ready replicas inferred" in events.get().reason
