"""A proposed plan (from the plans tests' fixtures) and a Kubernetes API test server to apply to."""

import pytest
from django.test import override_settings

from apps.actuation import registry
from tests.actuators.k8s_api_server import KubernetesApiServer

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{{name: test, cluster: {{server: "{url}"}}}}]
users: [{{name: test, user: {{token: not-a-secret}}}}]
contexts: [{{name: test, context: {{cluster: test, user: test}}}}]
current-context: test
"""


@pytest.fixture
def cluster(tmp_path):
    """A Kubernetes API test server that Ballast reaches through a kubeconfig file."""
    server = KubernetesApiServer().start()
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG.format(url=server.url))
    registry.reset_connections()
    with override_settings(KUBE_MODE="kubeconfig", KUBECONFIG=str(path), KUBE_CONTEXT=None):
        yield server
    registry.reset_connections()
    server.stop()
