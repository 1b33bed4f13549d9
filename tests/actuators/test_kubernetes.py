"""Kubernetes actuators against a test API server speaking the real wire format."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client

from actuators.base import PermanentError, Step, TransientError, plan_steps, rollback_steps
from actuators.kubernetes import (
    APPLY_KEYS_ANNOTATION,
    MAX_RECORDED_KEYS,
    HorizontalPodAutoscaler,
    KedaScaledObject,
    KubernetesDeployment,
    load_api_client,
)
from tests.actuators.k8s_api_server import KubernetesApiServer

Actuator = KubernetesDeployment | HorizontalPodAutoscaler | KedaScaledObject


@dataclass(frozen=True)
class Kind:
    name: str
    actuator_class: type[Actuator]
    resource: str
    create: Callable[[KubernetesApiServer], Any]
    initial: dict[str, int]
    desired: dict[str, int]


KINDS = [
    Kind(
        "deployment",
        KubernetesDeployment,
        "deployments",
        lambda server: server.add_deployment("ml", "ranker", replicas=3),
        {"replicas": 3},
        {"replicas": 5},
    ),
    Kind(
        "hpa",
        HorizontalPodAutoscaler,
        "horizontalpodautoscalers",
        lambda server: server.add_hpa("ml", "ranker", min_replicas=2, max_replicas=10),
        {"max_replicas": 10, "min_replicas": 2},
        {"max_replicas": 20, "min_replicas": 4},
    ),
    Kind(
        "scaledobject",
        KedaScaledObject,
        "scaledobjects",
        lambda server: server.add_scaled_object(
            "ml", "ranker", min_replica_count=1, max_replica_count=20
        ),
        {"max_replica_count": 20, "min_replica_count": 1},
        {"max_replica_count": 40, "min_replica_count": 2},
    ),
]
each_kind = pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)


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


def actuator_for(
    kind: Kind, server: KubernetesApiServer, api_client: client.ApiClient, **options: Any
) -> Actuator:
    kind.create(server)
    return kind.actuator_class(api_client, "ml/ranker", options.pop("dry_run", False), **options)


def apply_plan(actuator: Actuator, desired: dict[str, int], plan: str) -> list[Step]:
    steps = plan_steps(actuator.target, actuator.describe(), desired)
    for i, step in enumerate(steps):
        actuator.apply(step, f"{plan}:{i}")
    return steps


def patches(server: KubernetesApiServer) -> list[str]:
    return [r.path for r in server.requests if r.method == "PATCH"]


@each_kind
def test_describe_reads_the_settings_of_each_kind(kind, server, api_client):
    actuator = actuator_for(kind, server, api_client)
    assert actuator.describe() == kind.initial
    assert actuator.target == f"{kind.actuator_class.kind}:ml/ranker"


@each_kind
def test_planned_steps_are_applied_and_verified(kind, server, api_client):
    actuator = actuator_for(kind, server, api_client)
    steps = apply_plan(actuator, kind.desired, "plan-7")
    assert steps and all(actuator.verify(step) for step in steps)
    assert actuator.describe() == kind.desired
    annotations = server.get(kind.resource, "ml", "ranker")["metadata"]["annotations"]
    assert annotations[APPLY_KEYS_ANNOTATION] == ",".join(f"plan-7:{i}" for i in range(len(steps)))


def test_a_deployment_is_scaled_and_its_key_recorded_in_one_write(server, api_client):
    actuator = actuator_for(KINDS[0], server, api_client)
    actuator.apply(Step(actuator.target, "replicas", 3, 5), "plan-1:0")
    sent = [r for r in server.requests if r.method == "PATCH"]
    assert len(sent) == 1 and not sent[0].path.endswith("/scale")
    assert sent[0].body["spec"] == {"replicas": 5}
    assert sent[0].body["metadata"]["annotations"][APPLY_KEYS_ANNOTATION] == "plan-1:0"
    assert sent[0].body["metadata"]["resourceVersion"]  # refused if it changed since the read
    assert server.get("deployments", "ml", "ranker")["spec"]["replicas"] == 5


@each_kind
def test_a_redelivered_step_is_not_applied_twice(kind, server, api_client):
    actuator = actuator_for(kind, server, api_client)
    setting = sorted(kind.desired)[0]
    step = Step(actuator.target, setting, kind.initial[setting], kind.desired[setting])
    first = actuator.apply(step, "plan-3:0")
    writes = server.write_count(kind.resource, "ml", "ranker")
    again = kind.actuator_class(api_client, "ml/ranker", False).apply(step, "plan-3:0")
    assert first.applied and not first.dry_run
    assert not again.applied and "plan-3:0" in again.detail
    assert server.write_count(kind.resource, "ml", "ranker") == writes


def test_a_failed_write_changes_nothing_and_its_redelivery_scales_once(server, api_client):
    actuator = actuator_for(KINDS[0], server, api_client)
    step = Step(actuator.target, "replicas", 3, 5)
    server.fail_next(500, method="PATCH")  # neither the replicas nor the key land
    with pytest.raises(TransientError):
        actuator.apply(step, "plan-4:0")
    assert server.get("deployments", "ml", "ranker")["spec"]["replicas"] == 3
    result = actuator.apply(step, "plan-4:0")
    assert result.applied and actuator.verify(step)
    assert server.write_count("deployments", "ml", "ranker") == 1
    assert actuator.apply(step, "plan-4:0").applied is False


def test_recorded_keys_are_capped(server, api_client):
    actuator = actuator_for(KINDS[0], server, api_client)
    for i in range(MAX_RECORDED_KEYS + 5):
        actuator.apply(Step(actuator.target, "replicas", None, 3 + i % 2), f"plan-{i}:0")
    annotation = server.get("deployments", "ml", "ranker")["metadata"]["annotations"]
    keys = annotation[APPLY_KEYS_ANNOTATION].split(",")
    assert len(keys) == MAX_RECORDED_KEYS and keys[-1] == f"plan-{MAX_RECORDED_KEYS + 4}:0"


@each_kind
def test_dry_run_is_validated_by_the_server_and_persists_nothing(kind, server, api_client):
    actuator = actuator_for(kind, server, api_client, dry_run=True)
    before = server.get(kind.resource, "ml", "ranker")
    steps = plan_steps(actuator.target, actuator.describe(), kind.desired)
    results = [actuator.apply(step, f"plan-5:{i}") for i, step in enumerate(steps)]
    assert all(r.applied and r.dry_run and r.detail.startswith("dry run:") for r in results)
    assert all(actuator.verify(step) for step in steps)
    assert server.get(kind.resource, "ml", "ranker") == before
    assert server.write_count(kind.resource, "ml", "ranker") == 0
    sent = [r for r in server.requests if r.method == "PATCH"]
    assert sent and all(r.query == {"dryRun": ["All"]} for r in sent)


def test_a_dry_run_of_an_invalid_value_still_fails(server, api_client):
    actuator = actuator_for(KINDS[0], server, api_client, dry_run=True)
    step = Step(actuator.target, "replicas", 3, -1)
    with pytest.raises(PermanentError, match=r"replicas.*must be greater than or equal to 0"):
        actuator.apply(step, "plan-6:0")
    assert not actuator.verify(step)


@each_kind
def test_a_missing_object_is_a_permanent_error(kind, api_client):
    actuator = kind.actuator_class(api_client, "ml/ghost", False)
    setting = sorted(kind.desired)[0]
    with pytest.raises(PermanentError, match=rf"ml/ghost {setting}: not found"):
        actuator.apply(Step(actuator.target, setting, None, 3), "plan-8:0")
    with pytest.raises(PermanentError, match="not found"):
        actuator.describe()


def test_an_invalid_value_is_a_permanent_error_naming_the_problem(server, api_client):
    actuator = actuator_for(KINDS[1], server, api_client)
    with pytest.raises(PermanentError) as refused:
        actuator.apply(Step(actuator.target, "min_replicas", 2, 12), "plan-9:0")
    message = str(refused.value)
    assert message.startswith("k8s_hpa:ml/ranker min_replicas: rejected by the API server")
    problem = "spec.maxReplicas: Invalid value: 10: must be greater than or equal to `minReplicas`"
    assert problem in message
    assert actuator.describe() == KINDS[1].initial


@each_kind
def test_a_write_that_raced_another_is_reread_and_retried(kind, server, api_client):
    actuator = actuator_for(kind, server, api_client)

    def label(obj: dict[str, Any]) -> None:
        obj["metadata"].setdefault("labels", {})["team"] = "search"

    server.edit_after_next_read(kind.resource, "ml", "ranker", label)
    setting = sorted(kind.desired)[0]
    result = actuator.apply(Step(actuator.target, setting, None, kind.desired[setting]), "p:0")
    assert result.applied and actuator.verify(result.step)
    stored = server.get(kind.resource, "ml", "ranker")["metadata"]
    assert stored["labels"] == {"team": "search"} and stored["annotations"][APPLY_KEYS_ANNOTATION]
    assert len(patches(server)) == 2  # one 409, then the write on the fresh read


def test_a_conflict_that_keeps_coming_is_transient(server, api_client):
    actuator = actuator_for(KINDS[1], server, api_client)
    server.fail_next(409, times=10, method="PATCH")
    with pytest.raises(TransientError, match=r"k8s_hpa:ml/ranker max_replicas: still conflicting"):
        actuator.apply(Step(actuator.target, "max_replicas", 10, 12), "plan-10:0")
    assert len(patches(server)) == 3
    assert actuator.describe() == KINDS[1].initial


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_server_errors_are_transient(status, server, api_client):
    actuator = actuator_for(KINDS[2], server, api_client)
    server.fail_next(status)
    with pytest.raises(TransientError, match=rf"max_replica_count: .*\({status}\)"):
        actuator.apply(Step(actuator.target, "max_replica_count", 20, 30), "plan-11:0")


@pytest.mark.parametrize("status", [401, 403])
def test_access_denied_is_permanent(status, server, api_client):
    actuator = actuator_for(KINDS[0], server, api_client)
    server.fail_next(status)
    with pytest.raises(PermanentError, match=rf"replicas: access denied \({status}\)"):
        actuator.apply(Step(actuator.target, "replicas", 3, 4), "plan-12:0")


def test_a_timed_out_write_is_transient_and_not_repeated_once_it_landed(server, api_client):
    actuator = actuator_for(KINDS[1], server, api_client, request_timeout_s=0.2)
    step = Step(actuator.target, "max_replicas", 10, 15)
    server.delay_next(1.0, method="PATCH")
    with pytest.raises(TransientError, match="k8s_hpa:ml/ranker max_replicas: no answer"):
        actuator.apply(step, "plan-13:0")
    server.wait_until_idle()  # the server carried the write out after the client gave up
    assert actuator.apply(step, "plan-13:0").applied is False
    assert server.write_count("horizontalpodautoscalers", "ml", "ranker") == 1


def test_a_read_timeout_is_transient(server, api_client):
    actuator = actuator_for(KINDS[0], server, api_client, request_timeout_s=0.2)
    server.delay_next(0.5, times=10, method="GET")  # urllib3 retries a GET a few times
    with pytest.raises(TransientError, match="no answer from the API server"):
        actuator.describe()


def test_an_unreachable_api_server_is_transient(server):
    configuration = client.Configuration()
    configuration.host = server.url
    server.stop()
    actuator = KubernetesDeployment(client.ApiClient(configuration), "ml/ranker", False)
    with pytest.raises(TransientError, match="k8s_deployment:ml/ranker replicas: no answer"):
        actuator.apply(Step(actuator.target, "replicas", 3, 4), "plan-14:0")


@each_kind
def test_rollback_returns_to_the_recorded_state(kind, server, api_client):
    actuator = actuator_for(kind, server, api_client)
    recorded = actuator.describe()
    apply_plan(actuator, kind.desired, "plan-15")
    steps = rollback_steps(actuator.target, actuator.describe(), recorded)
    for i, step in enumerate(steps):
        actuator.apply(step, f"rollback-15:{i}")
    assert steps and all(actuator.verify(step) for step in steps)
    assert actuator.describe() == recorded


def test_a_step_for_another_setting_or_target_is_refused(server, api_client):
    actuator = actuator_for(KINDS[0], server, api_client)
    with pytest.raises(PermanentError, match="no setting 'min_replicas'"):
        actuator.apply(Step(actuator.target, "min_replicas", 1, 2), "plan-16:0")
    with pytest.raises(PermanentError, match="another target"):
        actuator.apply(Step("k8s_deployment:ml/other", "replicas", 1, 2), "plan-16:1")
    with pytest.raises(ValueError, match="namespace/name"):
        KubernetesDeployment(client.ApiClient(), "ranker", False)


def test_load_api_client_reads_a_kubeconfig_file(server, tmp_path):
    server.add_deployment("ml", "ranker", replicas=4)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        f"""
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {{server: "{server.url}"}}
- name: elsewhere
  cluster: {{server: "http://127.0.0.1:9"}}
users:
- name: ballast
  user: {{token: not-a-secret}}
contexts:
- name: test
  context: {{cluster: test, user: ballast}}
- name: elsewhere
  context: {{cluster: elsewhere, user: ballast}}
current-context: elsewhere
"""
    )
    api_client = load_api_client("kubeconfig", kubeconfig=str(kubeconfig), context="test")
    assert KubernetesDeployment(api_client, "ml/ranker", True).describe() == {"replicas": 4}


def test_load_api_client_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match="'from-database'"):
        load_api_client("from-database")
