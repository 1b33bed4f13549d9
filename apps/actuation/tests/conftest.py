"""A Kubernetes API test server to apply to, and an approved plan for two live objects on it."""

import pytest
from django.test import override_settings

from apps.actuation import registry
from apps.plans.models import ScalingPlan
from apps.workloads.models import DeploymentTarget
from tests.actuators.k8s_api_server import KubernetesApiServer

NS, NAME = "prod", "ranker"
BEFORE = 30  # the Deployment's replicas before a plan: far above what the plan sets, so it writes
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{{name: test, cluster: {{server: "{url}"}}}}]
users: [{{name: test, user: {{token: not-a-secret}}}}]
contexts: [{{name: test, context: {{cluster: test, user: test}}}}]
current-context: test
"""


@pytest.fixture
def cluster(tmp_path):
    """A Kubernetes API test server that Ballast reaches through a kubeconfig file, as itself."""
    server = KubernetesApiServer().start()
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG.format(url=server.url))
    registry.reset_connections()
    with override_settings(
        KUBE_MODE="kubeconfig",
        KUBECONFIG=str(path),
        KUBE_CONTEXT=None,
        ACTUATOR_DEFAULT_IDENTITY=True,
    ):
        yield server
    registry.reset_connections()
    server.stop()


@pytest.fixture
def live_plan(cluster, online_workload, stored_forecast, build, ci_a, sre_a):
    """An approved plan for a live Deployment (`BEFORE` replicas) and a live HPA (2-10)."""
    cluster.add_deployment(NS, NAME, replicas=BEFORE)
    cluster.add_hpa(NS, NAME, min_replicas=2, max_replicas=10)
    online_workload.targets.update(dry_run=False)
    DeploymentTarget.objects.create(
        workload=online_workload, kind="k8s_hpa", reference=f"{NS}/{NAME}", dry_run=False
    )
    plan_id = ci_a.post("/api/v1/plans/", {"workload": online_workload.pk}).data["id"]
    build(plan_id)
    assert sre_a.post(f"/api/v1/plans/{plan_id}/approve/").status_code == 200
    return ScalingPlan.objects.get(pk=plan_id)
