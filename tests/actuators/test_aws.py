"""AWS actuators against moto's server over HTTP, and against a fault server for error paths.

What moto 5.2.5's server covers, and what it does not (checked in its installed sources):
- Auto Scaling: groups with a launch template and a MixedInstancesPolicy, update, tags: covered.
  moto replaces the whole MixedInstancesPolicy on every update (an update without one erases it,
  one without LaunchTemplate fails with a 500), where AWS keeps what is omitted; the actuator
  restates the policy on each update, so the tests run the same requests AWS would get.
  moto accepts min > desired; the range check is ours and is tested here.
- SageMaker: model, endpoint config, endpoint, update_endpoint_weights_and_capacities, tags:
  covered. moto finishes the update at once (AWS stays "Updating" for minutes and refuses a second
  update meanwhile; that refusal is only tested through `classify_error`).
- Lambda: functions, aliases, tags exist, but moto has no provisioned-concurrency routes (its
  server answers 404 to get/put/delete_provisioned_concurrency_config). The Lambda tests that need
  them are marked xfail(strict=True), NOT RUN AGAINST MOTO: they run, fail on that 404 as a
  PermanentError, and start failing the suite (XPASS) the day moto adds the routes. What runs
  without those routes (local validation, error mapping over the fault server) is tested.
- ELBv2: load balancers, target groups of type ip and lambda, listeners and rules whose forward
  action carries weighted target groups (ForwardConfig), modify_listener / modify_rule, tags on
  listeners and rules: covered.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from botocore.exceptions import ClientError

from actuators.aws.alb import AlbWeightedRoute
from actuators.aws.autoscaling import AutoScalingGroup
from actuators.aws.base import DryRunViolation, classify_error
from actuators.aws.lambda_concurrency import LambdaProvisionedConcurrency
from actuators.aws.sagemaker import SageMakerVariant
from actuators.base import PermanentError, Step, TransientError, plan_steps, rollback_steps

ASG = "ranker"
THROTTLING_XML = (
    "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
    "<Message>Rate exceeded</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
)
INTERNAL_XML = (
    "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code>"
    "<Message>We encountered an internal error</Message></Error><RequestId>r-2</RequestId>"
    "</ErrorResponse>"
)
VALIDATION_XML = THROTTLING_XML.replace("Throttling", "ValidationError").replace(
    "Rate exceeded", "Group not found"
)
NOT_MOTO_LAMBDA = pytest.mark.xfail(
    strict=True,
    raises=PermanentError,
    reason="NOT RUN AGAINST MOTO: moto 5.2.5 has no provisioned-concurrency routes (HTTP 404)",
)


def make_group(aws, name=ASG, mixed=True):
    template = aws("ec2").create_launch_template(
        LaunchTemplateName=f"{name}-lt",
        LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "m5.large"},
    )["LaunchTemplate"]
    spec = {"LaunchTemplateId": template["LaunchTemplateId"], "Version": "$Latest"}
    placement = {"AvailabilityZones": ["us-east-1a"], "MinSize": 1, "MaxSize": 5}
    if not mixed:
        aws("autoscaling").create_auto_scaling_group(
            AutoScalingGroupName=name, LaunchTemplate=spec, DesiredCapacity=2, **placement
        )
        return name
    policy = {
        "LaunchTemplate": {
            "LaunchTemplateSpecification": spec,
            "Overrides": [{"InstanceType": "m5.large"}, {"InstanceType": "m5.xlarge"}],
        },
        "InstancesDistribution": {
            "OnDemandBaseCapacity": 1,
            "OnDemandPercentageAboveBaseCapacity": 50,
            "SpotAllocationStrategy": "price-capacity-optimized",
        },
    }
    aws("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName=name, MixedInstancesPolicy=policy, DesiredCapacity=2, **placement
    )
    return name


def asg_tags(aws, name=ASG):
    group = aws("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    return {t["Key"]: t["Value"] for t in group["AutoScalingGroups"][0].get("Tags", [])}


@pytest.fixture
def group(aws):
    return AutoScalingGroup(aws("autoscaling"), make_group(aws), dry_run=False)


def test_asg_describe_reads_sizes_and_on_demand_split(group):
    assert group.target == "aws_asg:ranker"
    assert group.describe() == {
        "desired_capacity": 2,
        "min_size": 1,
        "max_size": 5,
        "on_demand_base_capacity": 1,
        "on_demand_percentage_above_base": 50,
    }


def test_asg_applies_every_setting_and_verifies_it(aws, group):
    desired = {
        "desired_capacity": 4,
        "max_size": 6,
        "min_size": 2,
        "on_demand_base_capacity": 2,
        "on_demand_percentage_above_base": 25,
    }
    for i, step in enumerate(plan_steps(group.target, group.describe(), desired)):
        result = group.apply(step, f"plan-1:{i}")
        assert result.applied and not result.dry_run
        assert group.verify(step)
    assert group.describe() == desired
    assert asg_tags(aws)["ballast:apply-key:desired_capacity"] == "plan-1:0"


def test_asg_redelivered_key_is_skipped_even_after_others_moved_the_value(aws, group):
    step = Step(group.target, "desired_capacity", 2, 3)
    assert group.apply(step, "plan-1:0").applied
    aws("autoscaling").update_auto_scaling_group(AutoScalingGroupName=ASG, DesiredCapacity=4)
    again = group.apply(step, "plan-1:0")
    assert not again.applied and "already applied" in again.detail
    assert group.describe()["desired_capacity"] == 4


def test_asg_remembers_older_keys_so_a_late_redelivery_does_not_regress(group):
    first, second = (
        Step(group.target, "desired_capacity", 2, 3),
        Step(group.target, "desired_capacity", 3, 4),
    )
    group.apply(first, "plan-1:0")
    group.apply(second, "plan-2:0")
    assert not group.apply(first, "plan-1:0").applied
    assert group.describe()["desired_capacity"] == 4


def test_asg_dry_run_changes_nothing(aws):
    make_group(aws)
    dry = AutoScalingGroup(aws("autoscaling"), ASG, dry_run=True)
    before, tags_before = dry.describe(), asg_tags(aws)
    desired = {
        "desired_capacity": 4,
        "on_demand_base_capacity": 0,
        "on_demand_percentage_above_base": 0,
    }
    for i, step in enumerate(plan_steps(dry.target, before, desired)):
        result = dry.apply(step, f"plan-1:{i}")
        assert result.applied and result.dry_run and result.detail.startswith("dry run: would set")
        assert not dry.verify(step)
    assert dry.describe() == before and asg_tags(aws) == tags_before


def test_asg_dry_run_validates_against_the_described_state(aws):
    make_group(aws)
    dry = AutoScalingGroup(aws("autoscaling"), ASG, dry_run=True)
    with pytest.raises(PermanentError, match="min <= desired <= max"):
        dry.apply(Step(dry.target, "desired_capacity", 2, 9), "plan-1:0")
    with pytest.raises(PermanentError, match="min <= desired <= max"):
        dry.apply(Step(dry.target, "min_size", 1, 3), "plan-1:1")
    with pytest.raises(PermanentError, match=">= 0"):
        dry.apply(Step(dry.target, "max_size", 5, -1), "plan-1:2")
    with pytest.raises(PermanentError, match="<= 100"):
        dry.apply(Step(dry.target, "on_demand_percentage_above_base", 50, 101), "plan-1:3")


def test_a_dry_run_instance_cannot_reach_a_write(aws):
    make_group(aws)
    dry = AutoScalingGroup(aws("autoscaling"), ASG, dry_run=True)
    with pytest.raises(DryRunViolation):
        dry._client.update_auto_scaling_group(AutoScalingGroupName=ASG, DesiredCapacity=3)
    with pytest.raises(DryRunViolation):
        dry._set("desired_capacity", 3)
    with pytest.raises(AttributeError):
        dry.dry_run = False
    assert dry.describe()["desired_capacity"] == 2


def test_asg_rollback_restores_the_recorded_state(group):
    recorded = group.describe()
    desired = {"desired_capacity": 4, "max_size": 6, "min_size": 2, "on_demand_base_capacity": 3}
    for i, step in enumerate(plan_steps(group.target, recorded, desired)):
        group.apply(step, f"plan-1:{i}")
    assert group.describe() != recorded
    for i, step in enumerate(rollback_steps(group.target, group.describe(), recorded)):
        assert group.apply(step, f"plan-1:rollback:{i}").applied
    assert group.describe() == recorded


def test_asg_without_mixed_policy_omits_the_split_and_refuses_it(aws):
    make_group(aws, mixed=False)
    actuator = AutoScalingGroup(aws("autoscaling"), ASG, dry_run=False)
    assert actuator.describe() == {"desired_capacity": 2, "min_size": 1, "max_size": 5}
    with pytest.raises(PermanentError, match="no mixed instances policy"):
        actuator.apply(Step(actuator.target, "on_demand_base_capacity", None, 1), "plan-1:0")
    assert actuator.apply(Step(actuator.target, "desired_capacity", 2, 3), "plan-1:1").applied
    assert actuator.describe()["desired_capacity"] == 3


def test_asg_change_by_someone_else_is_seen_by_describe_and_verify(aws, group):
    step = plan_steps(group.target, group.describe(), {"desired_capacity": 3})[0]
    other = aws("autoscaling")
    other.update_auto_scaling_group(AutoScalingGroupName=ASG, DesiredCapacity=5)
    assert not group.verify(step) and group.describe()["desired_capacity"] == 5
    assert group.apply(step, "plan-1:0").applied and group.verify(step)
    other.update_auto_scaling_group(AutoScalingGroupName=ASG, DesiredCapacity=4)
    assert not group.verify(step)


def test_asg_missing_group_and_foreign_steps_are_permanent(aws):
    actuator = AutoScalingGroup(aws("autoscaling"), "nope", dry_run=False)
    with pytest.raises(PermanentError, match="aws_asg:nope"):
        actuator.describe()
    with pytest.raises(PermanentError, match="step is for"):
        actuator.apply(Step("aws_asg:other", "desired_capacity", 1, 2), "plan-1:0")
    with pytest.raises(PermanentError, match="unknown setting"):
        actuator.apply(Step("aws_asg:nope", "replicas", 1, 2), "plan-1:0")


# SageMaker


@pytest.fixture
def variant(aws):
    role = aws("iam").create_role(RoleName="sm", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    sagemaker = aws("sagemaker")
    sagemaker.create_model(
        ModelName="ranker",
        ExecutionRoleArn=role,
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ranker:1"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="ranker-v1",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "ranker",
                "InitialInstanceCount": 2,
                "InstanceType": "ml.g4dn.xlarge",
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName="ranker", EndpointConfigName="ranker-v1")
    return sagemaker


def test_sagemaker_describe_apply_verify_and_redelivery(variant):
    actuator = SageMakerVariant(variant, "ranker/AllTraffic", dry_run=False)
    assert actuator.target == "aws_sagemaker:ranker/AllTraffic"
    assert actuator.describe() == {"desired_instance_count": 2}
    step = Step(actuator.target, "desired_instance_count", 2, 4)
    assert actuator.apply(step, "plan-1:0").applied and actuator.verify(step)
    arn = variant.describe_endpoint(EndpointName="ranker")["EndpointArn"]
    tags = {t["Key"]: t["Value"] for t in variant.list_tags(ResourceArn=arn)["Tags"]}
    assert tags == {"ballast:apply-key:desired_instance_count:AllTraffic": "plan-1:0"}
    variant.update_endpoint_weights_and_capacities(
        EndpointName="ranker",
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 1}],
    )
    assert not actuator.apply(step, "plan-1:0").applied
    assert not actuator.verify(step) and actuator.describe() == {"desired_instance_count": 1}


def test_sagemaker_dry_run_changes_nothing_and_rollback_restores(variant):
    dry = SageMakerVariant(variant, "ranker/AllTraffic", dry_run=True)
    before = dry.describe()
    result = dry.apply(Step(dry.target, "desired_instance_count", 2, 5), "plan-1:0")
    assert result.applied and result.dry_run and dry.describe() == before
    live = SageMakerVariant(variant, "ranker/AllTraffic", dry_run=False)
    live.apply(Step(live.target, "desired_instance_count", 2, 5), "plan-1:0")
    for step in rollback_steps(live.target, live.describe(), before):
        live.apply(step, "plan-1:rollback:0")
    assert live.describe() == before


def test_sagemaker_missing_variant_and_endpoint_are_permanent(variant):
    with pytest.raises(PermanentError, match="no variant 'Canary'"):
        SageMakerVariant(variant, "ranker/Canary", dry_run=False).describe()
    with pytest.raises(PermanentError, match="aws_sagemaker:nope/AllTraffic"):
        SageMakerVariant(variant, "nope/AllTraffic", dry_run=False).describe()
    with pytest.raises(ValueError, match="endpoint/variant"):
        SageMakerVariant(variant, "ranker", dry_run=False)


# Lambda


@pytest.fixture
def alias(aws):
    role = aws("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return 1\n")
    lambda_ = aws("lambda")
    lambda_.create_function(
        FunctionName="ranker",
        Runtime="python3.11",
        Role=role,
        Handler="handler.handle",
        Code={"ZipFile": code.getvalue()},
    )
    version = lambda_.publish_version(FunctionName="ranker")["Version"]
    lambda_.create_alias(FunctionName="ranker", Name="live", FunctionVersion=version)
    return lambda_


@NOT_MOTO_LAMBDA
def test_lambda_describe_apply_verify_and_redelivery(alias):
    actuator = LambdaProvisionedConcurrency(alias, "ranker:live", dry_run=False)
    assert actuator.describe() == {"provisioned_concurrency": 0}
    step = Step(actuator.target, "provisioned_concurrency", 0, 5)
    assert actuator.apply(step, "plan-1:0").applied and actuator.verify(step)
    assert not actuator.apply(step, "plan-1:0").applied
    back = Step(actuator.target, "provisioned_concurrency", 5, 0)
    assert actuator.apply(back, "plan-1:rollback:0").applied and actuator.verify(back)


@NOT_MOTO_LAMBDA
def test_lambda_dry_run_changes_nothing(alias):
    dry = LambdaProvisionedConcurrency(alias, "ranker:live", dry_run=True)
    before = dry.describe()
    assert dry.apply(Step(dry.target, "provisioned_concurrency", 0, 5), "plan-1:0").dry_run
    assert dry.describe() == before


def test_lambda_refuses_bad_steps_before_calling_aws(alias):
    dry = LambdaProvisionedConcurrency(alias, "ranker:live", dry_run=True)
    assert dry.target == "aws_lambda:ranker:live" and dry.function == "ranker"
    with pytest.raises(PermanentError, match="provisioned_concurrency: must be >= 0"):
        dry.apply(Step(dry.target, "provisioned_concurrency", 0, -1), "plan-1:0")
    with pytest.raises(PermanentError, match="key"):
        dry.apply(Step(dry.target, "provisioned_concurrency", 0, 1), "has space")
    with pytest.raises(DryRunViolation):
        dry._set("provisioned_concurrency", 1)
    arn = "arn:aws:lambda:us-east-1:123456789012:function:ranker:live"
    assert LambdaProvisionedConcurrency(alias, arn, dry_run=True).alias == "live"


# ALB weighted routing: the serverless share


def forward(*weights):
    """A forward action over (target group ARN, weight) pairs."""
    groups = [{"TargetGroupArn": arn, "Weight": w} for arn, w in weights]
    return [{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}]


@pytest.fixture
def alb(aws):
    """A listener forwarding 100/0 to VMs (ip targets) and a Lambda target group; a rule too."""
    ec2, elb = aws("ec2"), aws("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    lb = elb.create_load_balancer(Name="ranker", Subnets=subnets)["LoadBalancers"][0]
    vms = elb.create_target_group(
        Name="ranker-vms", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    fn = elb.create_target_group(Name="ranker-fn", TargetType="lambda")["TargetGroups"][0][
        "TargetGroupArn"
    ]
    listener = elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=forward((vms, 100), (fn, 0)),
    )["Listeners"][0]["ListenerArn"]
    rule = elb.create_rule(
        ListenerArn=listener,
        Priority=10,
        Conditions=[{"Field": "path-pattern", "Values": ["/rank*"]}],
        Actions=forward((vms, 3), (fn, 1)),
    )["Rules"][0]["RuleArn"]
    return {"client": elb, "listener": listener, "rule": rule, "vms": vms, "fn": fn}


def weights(alb, arn):
    elb = alb["client"]
    if ":listener-rule/" in arn:
        actions = elb.describe_rules(RuleArns=[arn])["Rules"][0]["Actions"]
    else:
        actions = elb.describe_listeners(ListenerArns=[arn])["Listeners"][0]["DefaultActions"]
    groups = actions[0]["ForwardConfig"]["TargetGroups"]
    return {g["TargetGroupArn"]: g["Weight"] for g in groups}


def test_alb_route_reads_sets_and_verifies_the_function_weight(alb):
    route = AlbWeightedRoute(alb["client"], alb["listener"], dry_run=False)
    assert route.describe() == {"serverless_weight": 0}
    step = Step(route.target, "serverless_weight", 0, 30)

    assert route.apply(step, "control/w-1/20261206T0000").applied and route.verify(step)

    assert weights(alb, alb["listener"]) == {alb["vms"]: 70, alb["fn"]: 30}
    assert not route.apply(step, "control/w-1/20261206T0000").applied  # a redelivery
    back = Step(route.target, "serverless_weight", 30, 0)
    assert route.apply(back, "control/w-1/20261206T0001").applied
    assert weights(alb, alb["listener"]) == {alb["vms"]: 100, alb["fn"]: 0}


def test_alb_route_on_a_rule_reads_its_weights_as_a_share(alb):
    route = AlbWeightedRoute(alb["client"], alb["rule"], dry_run=False)
    assert route.describe() == {"serverless_weight": 25}  # 3:1

    route.apply(Step(route.target, "serverless_weight", 25, 100), "k-1")

    assert weights(alb, alb["rule"]) == {alb["vms"]: 0, alb["fn"]: 100}
    assert weights(alb, alb["listener"]) == {alb["vms"]: 100, alb["fn"]: 0}  # untouched


def test_alb_route_dry_run_changes_nothing_and_refuses_over_100(alb):
    dry = AlbWeightedRoute(alb["client"], alb["listener"], dry_run=True)
    result = dry.apply(Step(dry.target, "serverless_weight", 0, 40), "k-1")
    assert result.dry_run and "would set" in result.detail
    assert weights(alb, alb["listener"]) == {alb["vms"]: 100, alb["fn"]: 0}
    with pytest.raises(PermanentError, match="must be <= 100"):
        dry.apply(Step(dry.target, "serverless_weight", 0, 101), "k-2")


def test_alb_route_refuses_a_forward_without_one_lambda_group(alb):
    elb = alb["client"]
    elb.modify_listener(ListenerArn=alb["listener"], DefaultActions=forward((alb["vms"], 1)))
    with pytest.raises(PermanentError, match="must name two"):
        AlbWeightedRoute(elb, alb["listener"], dry_run=False).describe()
    other = elb.create_target_group(
        Name="other-vms", Protocol="HTTP", Port=80, VpcId=_vpc_of(elb, alb["vms"]), TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    elb.modify_listener(
        ListenerArn=alb["listener"], DefaultActions=forward((alb["vms"], 1), (other, 1))
    )
    with pytest.raises(PermanentError, match="type lambda"):
        AlbWeightedRoute(elb, alb["listener"], dry_run=False).describe()


def _vpc_of(elb, arn):
    return elb.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]["VpcId"]


# Faults over the wire


def test_asg_throttling_and_5xx_are_transient(fault_server):
    actuator = AutoScalingGroup(fault_server.client("autoscaling"), ASG, dry_run=False)
    step = Step(actuator.target, "desired_capacity", 2, 3)
    fault_server.respond(400, THROTTLING_XML, {"Content-Type": "text/xml"})
    with pytest.raises(TransientError, match="aws_asg:ranker desired_capacity.*Throttling"):
        actuator.apply(step, "plan-1:0")
    fault_server.respond(500, INTERNAL_XML, {"Content-Type": "text/xml"})
    with pytest.raises(TransientError, match="InternalFailure"):
        actuator.apply(step, "plan-1:0")
    fault_server.respond(503, "<html>Service Unavailable</html>", {"Content-Type": "text/html"})
    with pytest.raises(TransientError):
        actuator.describe()
    assert fault_server.requests == 3  # no hidden retries


def test_asg_validation_and_access_denied_are_permanent(fault_server):
    actuator = AutoScalingGroup(fault_server.client("autoscaling"), ASG, dry_run=False)
    fault_server.respond(400, VALIDATION_XML, {"Content-Type": "text/xml"})
    with pytest.raises(PermanentError, match="aws_asg:ranker.*ValidationError"):
        actuator.describe()
    denied = VALIDATION_XML.replace("ValidationError", "AccessDenied")
    fault_server.respond(403, denied, {"Content-Type": "text/xml"})
    with pytest.raises(PermanentError, match="AccessDenied"):
        actuator.describe()


def test_a_read_timeout_is_transient(fault_server):
    client = fault_server.client("autoscaling", read_timeout_s=0.2)
    fault_server.respond(200, "", delay_s=1.0)
    with pytest.raises(TransientError, match="ReadTimeoutError"):
        AutoScalingGroup(client, ASG, dry_run=False).describe()


def test_an_unreachable_endpoint_is_transient(fault_server):
    fault_server.url = "http://127.0.0.1:9"  # discard port: nothing listens
    with pytest.raises(TransientError, match="EndpointConnectionError"):
        SageMakerVariant(fault_server.client("sagemaker"), "ranker/AllTraffic", False).describe()


def test_sagemaker_and_lambda_throttling_are_transient(fault_server):
    json_type = {"Content-Type": "application/x-amz-json-1.1"}
    fault_server.respond(
        400, '{"__type": "ThrottlingException", "message": "slow down"}', json_type
    )
    with pytest.raises(
        TransientError, match="aws_sagemaker:ranker/AllTraffic.*ThrottlingException"
    ):
        SageMakerVariant(fault_server.client("sagemaker"), "ranker/AllTraffic", False).describe()
    fault_server.respond(
        429,
        '{"Type": "User", "message": "Rate exceeded"}',
        {"Content-Type": "application/json", "x-amzn-ErrorType": "TooManyRequestsException"},
    )
    with pytest.raises(TransientError, match="TooManyRequestsException"):
        LambdaProvisionedConcurrency(fault_server.client("lambda"), "ranker:live", False).describe()
    fault_server.respond(502, "bad gateway", {"Content-Type": "text/plain"})
    with pytest.raises(TransientError, match="aws_lambda:ranker:live"):
        LambdaProvisionedConcurrency(fault_server.client("lambda"), "ranker:live", False).describe()


def test_sagemaker_update_in_progress_is_transient_other_validation_permanent():
    def error(code, message):
        response = {"Error": {"Code": code, "Message": message}}
        response["ResponseMetadata"] = {"HTTPStatusCode": 400}
        return ClientError(response, "UpdateEndpointWeightsAndCapacities")

    busy = error("ValidationException", "Cannot update in-progress endpoint 'arn:...'.")
    assert isinstance(classify_error(busy, "aws_sagemaker:x/y"), TransientError)
    missing = error("ValidationException", 'Could not find endpoint "arn:...".')
    assert isinstance(classify_error(missing, "aws_sagemaker:x/y"), PermanentError)
