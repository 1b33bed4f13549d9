"""An approved plan applied to an EC2 Auto Scaling group through boto3, over HTTP to moto."""

from apps.actuation.models import RecordedState
from apps.plans import applying
from apps.plans.models import ScalingPlan
from tests.actuators.test_aws import make_group


def test_an_asg_gets_capacity_bounds_and_its_on_demand_base(
    aws,
    aws_connected,
    online_workload,
    stored_forecast,
    build,
    ci_a,
    sre_a,
):
    make_group(aws, "ranker-asg")
    online_workload.targets.all().delete()
    online_workload.targets.create(kind="aws_asg", reference="ranker-asg", dry_run=False)
    plan_id = ci_a.post("/api/v1/plans/", {"workload": online_workload.pk}).data["id"]
    build(plan_id)
    assert sre_a.post(f"/api/v1/plans/{plan_id}/approve/").status_code == 200
    assert sre_a.post(f"/api/v1/plans/{plan_id}/apply/").status_code == 202

    applying.execute_apply(plan_id)

    plan = ScalingPlan.objects.get(pk=plan_id)
    assert plan.status == "applied", plan.message
    group = aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=["ranker-asg"])
    group = group["AutoScalingGroups"][0]
    totals = [sum(p.count for p in row) for row in plan.chosen.schedule]
    first = plan.chosen.schedule[0]
    on_demand = sum(p.count for p in first if p.offer.endswith("/on_demand"))
    distribution = group["MixedInstancesPolicy"]["InstancesDistribution"]
    assert (group["DesiredCapacity"], group["MinSize"], group["MaxSize"]) == (
        totals[0],
        min(totals),
        max(totals),
    )
    assert distribution["OnDemandBaseCapacity"] == on_demand
    assert distribution["OnDemandPercentageAboveBaseCapacity"] == 0
    recorded = RecordedState.objects.get(plan=plan).state
    assert recorded["desired_capacity"] == 2 and recorded["on_demand_percentage_above_base"] == 50
