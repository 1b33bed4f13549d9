"""What a target has serving, over the wire, and the pools its replicas are named by.

Auto Scaling groups on moto's server (and a canned answer for the states moto never shows),
SageMaker on moto, Deployments on the Kubernetes API test server.

moto 5.2.5 puts every instance it launches for a group `InService` and `Healthy` at once, with
the launch template's type, and keeps an instance marked unhealthy (`set_instance_health`) in
the group: a reclaimed or failed instance is played by an unhealthy one. Pending states come
only from the fault server, answering DescribeAutoScalingGroups as AWS documents it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client

from actuators.aws.autoscaling import AutoScalingGroup
from actuators.aws.sagemaker import SageMakerVariant
from actuators.base import PermanentError
from actuators.dryrun import DryRunActuator
from actuators.kubernetes import HorizontalPodAutoscaler, KubernetesDeployment
from actuators.serving import name_pools, ready_by_type
from tests.actuators.k8s_api_server import KubernetesApiServer
from tests.actuators.test_aws import variant  # noqa: F401  (a fixture)

SPOT = {"karpenter.sh/capacity-type": "spot"}


def group_of(aws, desired: int, mixed: bool) -> str:
    """A group of m5.large; mixed: one On-Demand base replica, everything above it Spot."""
    template = aws("ec2").create_launch_template(
        LaunchTemplateName="ranker-lt",
        LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "m5.large"},
    )["LaunchTemplate"]
    spec = {"LaunchTemplateId": template["LaunchTemplateId"], "Version": "$Latest"}
    sizes = {"MinSize": 0, "MaxSize": 10, "DesiredCapacity": desired}
    if mixed:
        policy = {
            "LaunchTemplate": {
                "LaunchTemplateSpecification": spec,
                "Overrides": [{"InstanceType": "m5.large"}],
            },
            "InstancesDistribution": {
                "OnDemandBaseCapacity": 1,
                "OnDemandPercentageAboveBaseCapacity": 0,
            },
        }
        placement = {"MixedInstancesPolicy": policy}
    else:
        placement = {"LaunchTemplate": spec}
    aws("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName="ranker", AvailabilityZones=["us-east-1a"], **sizes, **placement
    )
    return "ranker"


def instance_ids(aws) -> list[str]:
    groups = aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=["ranker"])
    return [i["InstanceId"] for i in groups["AutoScalingGroups"][0]["Instances"]]


def test_a_group_serves_its_healthy_in_service_instances(aws):
    group = AutoScalingGroup(aws("autoscaling"), group_of(aws, 3, mixed=False), dry_run=False)
    assert group.serving() == {("m5.large", "on_demand"): (3, 0)}

    first, second, _ = instance_ids(aws)
    aws("autoscaling").set_instance_health(InstanceId=first, HealthStatus="Unhealthy")
    aws("autoscaling").enter_standby(
        AutoScalingGroupName="ranker", InstanceIds=[second], ShouldDecrementDesiredCapacity=True
    )

    assert group.serving() == {("m5.large", "on_demand"): (1, 0)}


def test_a_mixed_group_counts_spot_above_its_on_demand_base_and_loses_spot_first(aws):
    group = AutoScalingGroup(aws("autoscaling"), group_of(aws, 3, mixed=True), dry_run=False)
    assert group.serving() == {("m5.large", "on_demand"): (1, 0), ("m5.large", "spot"): (2, 0)}

    for gone in instance_ids(aws)[:2]:  # a reclaim wave: AWS takes Spot only
        aws("autoscaling").set_instance_health(InstanceId=gone, HealthStatus="Unhealthy")

    assert group.serving() == {("m5.large", "on_demand"): (1, 0)}


def test_a_dry_run_group_is_not_observed(aws):
    group = AutoScalingGroup(aws("autoscaling"), group_of(aws, 2, mixed=False), dry_run=True)
    assert group.serving() is None


def test_a_missing_group_is_a_permanent_error(aws):
    with pytest.raises(PermanentError, match="no Auto Scaling group named 'gone'"):
        AutoScalingGroup(aws("autoscaling"), "gone", dry_run=False).serving()


def instance(itype: str, state: str, health: str = "Healthy") -> str:
    return (
        f"<member><InstanceId>i-{abs(hash((itype, state, health)))}</InstanceId>"
        f"<InstanceType>{itype}</InstanceType><AvailabilityZone>us-east-1a</AvailabilityZone>"
        f"<LifecycleState>{state}</LifecycleState><HealthStatus>{health}</HealthStatus>"
        "<ProtectedFromScaleIn>false</ProtectedFromScaleIn></member>"
    )


def describe_groups_xml(instances: list[str]) -> str:
    """A DescribeAutoScalingGroups answer: 6 desired, 2 On-Demand base, c6i.xlarge first."""
    return (
        '<DescribeAutoScalingGroupsResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">'
        "<DescribeAutoScalingGroupsResult><AutoScalingGroups><member>"
        "<AutoScalingGroupName>ranker</AutoScalingGroupName>"
        "<MinSize>0</MinSize><MaxSize>10</MaxSize><DesiredCapacity>6</DesiredCapacity>"
        "<DefaultCooldown>300</DefaultCooldown>"
        "<AvailabilityZones><member>us-east-1a</member></AvailabilityZones>"
        "<HealthCheckType>EC2</HealthCheckType><CreatedTime>2026-01-01T00:00:00Z</CreatedTime>"
        "<MixedInstancesPolicy><LaunchTemplate><LaunchTemplateSpecification>"
        "<LaunchTemplateId>lt-1</LaunchTemplateId><Version>$Latest</Version>"
        "</LaunchTemplateSpecification><Overrides>"
        "<member><InstanceType>c6i.xlarge</InstanceType></member>"
        "<member><InstanceType>m5.large</InstanceType></member>"
        "</Overrides></LaunchTemplate><InstancesDistribution>"
        "<OnDemandBaseCapacity>2</OnDemandBaseCapacity>"
        "<OnDemandPercentageAboveBaseCapacity>0</OnDemandPercentageAboveBaseCapacity>"
        "</InstancesDistribution></MixedInstancesPolicy>"
        f"<Instances>{''.join(instances)}</Instances>"
        "</member></AutoScalingGroups></DescribeAutoScalingGroupsResult>"
        "<ResponseMetadata><RequestId>r-3</RequestId></ResponseMetadata>"
        "</DescribeAutoScalingGroupsResponse>"
    )


def test_launching_instances_are_pending_and_on_demand_goes_by_override_priority(fault_server):
    fault_server.respond(
        200,
        describe_groups_xml(
            [
                instance("m5.large", "InService"),
                instance("m5.large", "InService", "Unhealthy"),
                instance("m5.large", "Pending:Wait"),
                instance("m5.large", "Terminating"),
                instance("c6i.xlarge", "InService"),
                instance("c6i.xlarge", "Pending"),
                instance("m5.large", "Standby"),
            ]
        ),
        {"Content-Type": "text/xml"},
    )
    group = AutoScalingGroup(fault_server.client("autoscaling"), "ranker", dry_run=False)

    assert group.serving() == {
        ("c6i.xlarge", "on_demand"): (1, 0),
        ("c6i.xlarge", "spot"): (0, 1),
        ("m5.large", "on_demand"): (1, 0),
        ("m5.large", "spot"): (0, 1),
    }


def test_a_sagemaker_variant_serves_its_current_instances(variant):  # noqa: F811
    actuator = SageMakerVariant(variant, "ranker/AllTraffic", dry_run=False)
    assert actuator.serving() == {("", "on_demand"): (2, 0)}
    assert SageMakerVariant(variant, "ranker/AllTraffic", dry_run=True).serving() is None


@pytest.fixture
def server() -> Iterator[KubernetesApiServer]:
    api_server = KubernetesApiServer().start()
    yield api_server
    api_server.stop()


@pytest.fixture
def api_client(server: KubernetesApiServer) -> Iterator[client.ApiClient]:
    configuration = client.Configuration()
    configuration.host = server.url
    with client.ApiClient(configuration) as api_client:
        yield api_client


def test_a_deployment_serves_its_ready_pods_and_the_rest_are_pending(server, api_client):
    server.add_deployment("ml", "ranker-spot", replicas=3, node_selector=SPOT)
    deployment = KubernetesDeployment(api_client, "ml/ranker-spot", False, capacity_type="spot")
    assert deployment.serving() == {("", "spot"): (3, 0)}

    server.hold_unready("ml", "ranker-spot", 2)

    assert deployment.serving() == {("", "spot"): (1, 2)}


def test_a_deployment_of_every_pool_names_none_and_a_dry_run_one_is_not_observed(
    server, api_client
):
    server.add_deployment("ml", "ranker", replicas=2)
    assert KubernetesDeployment(api_client, "ml/ranker", False).serving() == {("", ""): (2, 0)}
    assert KubernetesDeployment(api_client, "ml/ranker", True).serving() is None


def test_an_hpa_a_dry_run_target_and_a_missing_deployment(server, api_client):
    server.add_hpa("ml", "ranker")
    assert HorizontalPodAutoscaler(api_client, "ml/ranker", False).serving() is None
    assert DryRunActuator("k8s_deployment:ml/ranker", {"replicas": 3}).serving() is None
    with pytest.raises(PermanentError, match="not found"):
        KubernetesDeployment(api_client, "ml/gone", False).serving()


def test_unnamed_parts_go_to_the_pools_asked_each_up_to_its_ask():
    asked = {("c6i.xlarge", "spot"): 4, ("c6i.xlarge", "on_demand"): 1}
    reads = [{("", "spot"): (3, 2)}, {("", "on_demand"): (1, 0)}]
    assert name_pools(reads, asked) == {
        ("c6i.xlarge", "spot"): (3, 2),
        ("c6i.xlarge", "on_demand"): (1, 0),
    }
    every_pool = [{("", ""): (4, 2)}]  # ready first, the spot pool (asked most) before the other
    assert name_pools(every_pool, asked) == {
        ("c6i.xlarge", "spot"): (4, 1),
        ("c6i.xlarge", "on_demand"): (0, 1),
    }


def test_an_on_demand_instance_may_be_a_reserved_one_and_named_reads_stay_as_they_are():
    asked = {("c6i.xlarge", "reserved"): 2, ("c6i.xlarge", "on_demand"): 1}
    reads = [{("c6i.xlarge", "on_demand"): (3, 0), ("m5.large", "spot"): (1, 0)}]
    assert name_pools(reads, asked) == {
        ("c6i.xlarge", "on_demand"): (1, 0),
        ("c6i.xlarge", "reserved"): (2, 0),
        ("m5.large", "spot"): (1, 0),
    }


def test_a_read_nothing_asked_can_name_is_unusable():
    assert name_pools([{("", "spot"): (2, 0)}], {}) is None
    assert name_pools([], {("c6i.xlarge", "spot"): 2}) == {}


def test_the_router_counts_ready_replicas_the_decision_keeps_plus_reserved():
    serving = {("c6i.xlarge", "spot"): (5, 1), ("c6i.xlarge", "on_demand"): (1, 0)}
    assert ready_by_type(serving, {("c6i.xlarge", "spot"): 9}, {}) == {"c6i.xlarge": 6}
    assert ready_by_type(serving, {("c6i.xlarge", "spot"): 4}, {"c6i.xlarge": 2}) == {
        "c6i.xlarge": 6
    }
