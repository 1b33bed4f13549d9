"""Each team's actuators act as the identity an operator granted it, over the wire.

AWS: moto's server (through a proxy that records which access key signed each request) issues
assumed-role credentials, and the apply's requests carry them. Kubernetes: two API test servers
behind two kubeconfig contexts, and the impersonation header.
"""

import boto3
import pytest
from django.test import override_settings

from apps.actuation import registry
from apps.actuation.models import TeamCredentials
from apps.actuation.tests.signing_proxy import start_proxy
from apps.plans import applying
from apps.plans.models import ScalingPlan
from tests.actuators.k8s_api_server import KubernetesApiServer
from tests.actuators.test_aws import make_group

ROLE = "arn:aws:iam::123456789012:role/ballast-team-a"
PROCESS_KEY_ID = "testing"  # what the moto fixture puts in AWS_ACCESS_KEY_ID
TWO_CONTEXTS = """apiVersion: v1
kind: Config
clusters:
- {{name: shared, cluster: {{server: "{shared}"}}}}
- {{name: team-a, cluster: {{server: "{team}"}}}}
users: [{{name: u, user: {{token: not-a-secret}}}}]
contexts:
- {{name: shared, context: {{cluster: shared, user: u}}}}
- {{name: team-a, context: {{cluster: team-a, user: u}}}}
current-context: shared
"""


@pytest.fixture
def proxied_aws(moto_server):
    """AWS reached through the signing proxy; no default identity for teams."""
    proxy, server = start_proxy(moto_server)
    registry.reset_connections()
    with override_settings(
        AWS_ENABLED=True, AWS_ENDPOINT_URL=proxy.url, ACTUATOR_DEFAULT_IDENTITY=False
    ):
        yield proxy
    registry.reset_connections()
    server.shutdown()


@pytest.fixture
def clusters(tmp_path):
    """(shared, team-a): API servers behind the kubeconfig contexts of those names."""
    shared, team = KubernetesApiServer().start(), KubernetesApiServer().start()
    path = tmp_path / "kubeconfig"
    path.write_text(TWO_CONTEXTS.format(shared=shared.url, team=team.url))
    registry.reset_connections()
    with override_settings(
        KUBE_MODE="kubeconfig", KUBECONFIG=str(path), KUBE_CONTEXT=None,
        ACTUATOR_DEFAULT_IDENTITY=False,
    ):  # fmt: skip
        yield shared, team
    registry.reset_connections()
    shared.stop()
    team.stop()


def apply_plan(workload, build, ci_a, sre_a) -> ScalingPlan:
    plan_id = ci_a.post("/api/v1/plans/", {"workload": workload.pk}).data["id"]
    build(plan_id)
    assert sre_a.post(f"/api/v1/plans/{plan_id}/approve/").status_code == 200
    assert sre_a.post(f"/api/v1/plans/{plan_id}/apply/").status_code == 202
    applying.execute_apply(plan_id)
    return ScalingPlan.objects.get(pk=plan_id)


def test_an_apply_to_aws_runs_as_the_teams_assumed_role(
    aws, proxied_aws, online_workload, stored_forecast, build, ci_a, sre_a
):
    make_group(aws, "ranker-asg")
    online_workload.targets.all().delete()
    online_workload.targets.create(kind="aws_asg", reference="ranker-asg", dry_run=False)
    TeamCredentials.objects.create(
        team=online_workload.team, aws_role_arn=ROLE, aws_external_id="ballast-ext-1"
    )

    plan = apply_plan(online_workload, build, ci_a, sre_a)

    assert plan.status == "applied", plan.message
    assumed = [body for _, _, body in proxied_aws.signed if "Action=AssumeRole" in body]
    assert all("ExternalId=ballast-ext-1" in body for body in assumed)
    # Once per session, however many calls: the plan's build reads as the team, its apply as
    # the team and the plan.
    assert sorted(body.split("RoleSessionName=")[1].split("&")[0] for body in assumed) == [
        "ballast-team-a",
        f"ballast-team-a-plan-{plan.pk}",
    ]
    assert proxied_aws.key_ids("sts") == {PROCESS_KEY_ID}
    writes = {key for service, key, body in proxied_aws.signed if "Action=Update" in body}
    assert len(writes) == 1 and PROCESS_KEY_ID not in proxied_aws.key_ids("autoscaling")
    assert caller_arn(proxied_aws.upstream, writes.pop()) == (
        f"arn:aws:sts::123456789012:assumed-role/ballast-team-a/ballast-team-a-plan-{plan.pk}"
    )


def caller_arn(moto_url: str, key_id: str) -> str:
    """Who moto's STS says holds `key_id` (moto checks no signature, so any secret will do)."""
    return boto3.client(
        "sts",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key="unchecked-by-moto",
    ).get_caller_identity()["Arn"]


def test_a_team_without_a_granted_identity_is_refused_a_live_apply(
    aws, proxied_aws, online_workload, stored_forecast, build, ci_a, sre_a
):
    make_group(aws, "ranker-asg")
    online_workload.targets.all().delete()
    online_workload.targets.create(kind="aws_asg", reference="ranker-asg", dry_run=False)

    plan = apply_plan(online_workload, build, ci_a, sre_a)

    assert plan.status == "failed"
    assert "team team-a has no AWS identity granted" in plan.message
    assert "BALLAST_ACTUATOR_DEFAULT_IDENTITY" in plan.message
    assert proxied_aws.key_ids("autoscaling") == set()  # nothing was read as the process either


def test_the_process_identity_serves_a_team_only_when_the_operator_allows_it(
    aws, proxied_aws, online_workload, stored_forecast, build, ci_a, sre_a
):
    make_group(aws, "ranker-asg")
    online_workload.targets.all().delete()
    online_workload.targets.create(kind="aws_asg", reference="ranker-asg", dry_run=False)

    with override_settings(ACTUATOR_DEFAULT_IDENTITY=True):
        plan = apply_plan(online_workload, build, ci_a, sre_a)

    assert plan.status == "applied", plan.message
    assert proxied_aws.key_ids("autoscaling") == {PROCESS_KEY_ID}


def test_a_teams_kube_context_picks_its_cluster(
    clusters, online_workload, stored_forecast, build, ci_a, sre_a
):
    shared, team = clusters
    for server in clusters:
        server.add_deployment("prod", "ranker", replicas=30)
    online_workload.targets.update(dry_run=False)
    TeamCredentials.objects.create(team=online_workload.team, kube_context="team-a")

    plan = apply_plan(online_workload, build, ci_a, sre_a)

    assert plan.status == "applied", plan.message
    assert team.write_count("deployments", "prod", "ranker") == 1
    assert team.get("deployments", "prod", "ranker")["spec"]["replicas"] != 30
    assert shared.requests == []
    assert shared.get("deployments", "prod", "ranker")["spec"]["replicas"] == 30


def test_a_teams_service_account_is_impersonated_on_every_request(
    clusters, online_workload, stored_forecast, build, ci_a, sre_a
):
    shared, _ = clusters
    shared.add_deployment("prod", "ranker", replicas=30)
    online_workload.targets.update(dry_run=False)
    TeamCredentials.objects.create(
        team=online_workload.team, kube_service_account="team-a/ballast-actuator"
    )

    plan = apply_plan(online_workload, build, ci_a, sre_a)

    assert plan.status == "applied", plan.message
    assert shared.write_count("deployments", "prod", "ranker") == 1
    assert set(shared.impersonated) == {"system:serviceaccount:team-a:ballast-actuator"}


def test_without_a_kube_identity_a_live_target_is_refused_and_no_cluster_is_called(
    clusters, online_workload, stored_forecast, build, ci_a, sre_a
):
    shared, team = clusters
    online_workload.targets.update(dry_run=False)

    plan = apply_plan(online_workload, build, ci_a, sre_a)

    assert plan.status == "failed"
    assert "team team-a has no Kubernetes identity granted" in plan.message
    assert shared.requests == [] and team.requests == []
