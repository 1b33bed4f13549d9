"""charts/ballast rendered by Helm: valid objects for three Kubernetes minors, and what they do.

Rendered with default values, with ci/production-values.yaml and with every optional feature off
(tests/deploy/chart.py); each rendering is validated against the OpenAPI schemas of Kubernetes
1.35, 1.36 and 1.37 and the custom resources against their CRDs. The other tests read the
properties an operator relies on: the migrations hook, KEDA's scale to zero on the gpu queue, a
GPU node Karpenter can provision, probes, resources and security contexts on every container,
disruption budgets, network policies, and alerts and a dashboard on the agreed metric names.
"""

import json
import re
from typing import Any

import promql_parser
import pytest

from tests.deploy.chart import (
    CHART,
    FEATURES_OFF,
    KUBERNETES_VERSIONS,
    NAMESPACE,
    RENDERINGS,
    REPO,
    HelmRefused,
    containers,
    crd_schemas,
    lint,
    objects,
    one,
    pod_spec,
    production_values,
    render,
    render_as,
    validation_errors,
)

QUEUES = ("cpu", "gpu", "control", "actuation", "webhooks")
WORKERS = tuple(f"ballast-worker-{queue}" for queue in QUEUES)
WORKLOADS = ("ballast-web", "ballast-beat", *WORKERS)
HEARTBEAT_PROBE = ["python", "-m", "controlplane.heartbeat", "--max-age", "90"]
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "Namespace", "CustomResourceDefinition"}
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule", "ScaledObject", "TriggerAuthentication"}
# The metric names agreed with /metrics (controlplane/metrics.py), and django-prometheus's.
AGREED_METRICS = {
    "ballast_celery_queue_length",
    "ballast_celery_workers",
    "ballast_celery_tasks_total",
    "ballast_task_duration_seconds",
    "ballast_metric_source_lag_max_seconds",
    "ballast_metric_sources_stale",
    "ballast_plan_age_max_seconds",
    "ballast_plan_apply_failures_1h",
    "ballast_webhook_delivery_failures_1h",
    "ballast_plans",
    "ballast_applied_savings_usd_per_day",
}
KNOWN_METRICS = {
    *AGREED_METRICS,
    "ballast_task_duration_seconds_bucket",
    "django_http_responses_total_by_status_total",
}


def rendering(name: str) -> list[dict[str, Any]]:
    values = RENDERINGS[name]
    return render(production_values() if values is None else values)


def values_with(**overrides: Any) -> dict[str, Any]:
    """Production values with some top-level groups replaced."""
    return {**production_values(), **overrides}


# --- the chart renders valid objects ----------------------------------------------------------


@pytest.mark.parametrize("values", [{}, production_values()], ids=["default", "production"])
def test_helm_lint_is_clean(values):
    assert not lint(values)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", RENDERINGS)
def test_every_object_is_valid_for_the_kubernetes_minor(name, version):
    rendered = rendering(name)
    workloads = {o["metadata"]["name"] for o in rendered if o["kind"] in {"Deployment", "Job"}}
    assert workloads == {*WORKLOADS, "ballast-migrate"}
    errors = [error for obj in rendered for error in validation_errors(obj, version)]
    assert not errors, "\n".join(errors)


def test_the_custom_resources_are_validated_against_their_crds():
    assert {kind for _, kind in crd_schemas()} == CUSTOM_KINDS
    kinds = {obj["kind"] for obj in rendering("production")}
    assert CUSTOM_KINDS <= kinds
    assert not CUSTOM_KINDS & {obj["kind"] for obj in rendering("features-off")}


@pytest.mark.parametrize(
    "kind, name, path, bad",
    [
        ("Deployment", "ballast-web", ["spec", "replica"], 2),
        ("Deployment", "ballast-web", ["spec", "template", "spec", "containers", 0, "image"], 7),
        ("ScaledObject", "ballast-worker-gpu", ["spec", "minReplicaCount"], "zero"),
        ("ScaledObject", "ballast-worker-gpu", ["spec", "scaleTarget"], {"name": "x"}),
        ("ServiceMonitor", "ballast", ["spec", "endpoints", 0, "bearerTokenFile"], 1),
        ("PrometheusRule", "ballast", ["spec", "groups", 0, "rules", 0, "expr"], []),
        ("TriggerAuthentication", "ballast-redis", ["metadata", "labels", "size"], 1),
        ("TriggerAuthentication", "ballast-redis", ["metadata", "label"], {}),
    ],
)
def test_validation_refuses_broken_objects(kind, name, path, bad):
    obj = json.loads(json.dumps(one(rendering("production"), kind, name)))
    assert not validation_errors(obj, KUBERNETES_VERSIONS[-1])
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = bad
    assert validation_errors(obj, KUBERNETES_VERSIONS[-1])


@pytest.mark.parametrize(
    "values",
    [
        {"image": {"digest": "latest"}},
        {"workers": {"gpux": {"enabled": True}}},
        {"existingSecret": ""},
        {"replicaCount": 3},
        {"config": {"DEBUG": "true"}},
        {"workers": {"gpu": {"keda": {"minReplicaCount": -1}}}},
        {"web": {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": None}}},
    ],
    ids=lambda values: json.dumps(values),
)
def test_values_schema_refuses_wrong_values(values):
    with pytest.raises(HelmRefused, match="schema"):
        render(values)


@pytest.mark.parametrize("name", RENDERINGS)
def test_every_namespaced_object_names_its_namespace(name):
    targets = {"inference", "batch"}
    for obj in rendering(name):
        if obj["kind"] in CLUSTER_SCOPED:
            continue
        namespace = obj["metadata"].get("namespace")
        if obj["kind"] in {"Role", "RoleBinding"} or obj["metadata"]["name"].endswith("-actuator"):
            assert namespace in targets, f"{obj['kind']}/{obj['metadata']['name']}"
        else:
            assert namespace == NAMESPACE, f"{obj['kind']}/{obj['metadata']['name']}"


def test_release_and_namespace_come_from_helm_not_the_chart():
    text = render_as({}, release="acme", namespace="platform")
    assert "name: acme-ballast-web" in text and "namespace: platform" in text
    assert "namespace: ballast" not in text


# --- images, secrets, settings ----------------------------------------------------------------


def test_images_by_digest_are_pulled_if_not_present_and_tags_always():
    by_digest = containers(rendering("production"))
    for workload, container in by_digest:
        assert re.fullmatch(r"\S+/ballast(-cuda)?@sha256:[0-9a-f]{64}", container["image"])
        assert container["imagePullPolicy"] == "IfNotPresent", workload
    (gpu,) = [c for w, c in by_digest if w == "Deployment/ballast-worker-gpu"]
    assert gpu["image"].split("@")[0].endswith("/ballast-cuda")
    for workload, container in containers(rendering("default")):
        assert container["image"].endswith(":0.1.0"), container["image"]
        assert container["imagePullPolicy"] == "Always", workload


def test_pods_read_secrets_from_the_existing_secret_only():
    rendered = rendering("production")
    assert not objects(rendered, "Secret")
    for workload, container in containers(rendered):
        refs = {
            item["valueFrom"]["secretKeyRef"]["name"]
            for item in container["env"]
            if "secretKeyRef" in item.get("valueFrom", {})
        }
        assert refs == {"ballast-prod-secrets"}, workload


def test_allowed_hosts_follow_the_ingress_or_the_values():
    config = one(rendering("production"), "ConfigMap", "ballast-config")["data"]
    assert config["BALLAST_ALLOWED_HOSTS"] == "ballast.prod.example.com"
    assert config["BALLAST_CSRF_TRUSTED_ORIGINS"] == "https://ballast.prod.example.com"
    assert (
        "BALLAST_ALLOWED_HOSTS"
        not in one(rendering("default"), "ConfigMap", "ballast-config")["data"]
    )
    explicit = render(values_with(allowedHosts=["a.example.com", "b.example.com"]))
    config = one(explicit, "ConfigMap", "ballast-config")["data"]
    assert config["BALLAST_CSRF_TRUSTED_ORIGINS"] == "https://a.example.com,https://b.example.com"


def test_ingress_has_class_hosts_and_tls():
    ingress = one(rendering("production"), "Ingress", "ballast")
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert ingress["spec"]["tls"] == [
        {"secretName": "ballast-tls", "hosts": ["ballast.prod.example.com"]}
    ]
    (rule,) = ingress["spec"]["rules"]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert rule["host"] == "ballast.prod.example.com"
    assert backend == {"name": "ballast-web", "port": {"name": "http"}}
    assert not objects(rendering("default"), "Ingress")


# --- migrations -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", RENDERINGS)
def test_migrations_run_as_a_hook_before_install_and_upgrade(name):
    rendered = rendering(name)
    job = one(rendered, "Job", "ballast-migrate")
    annotations = job["metadata"]["annotations"]
    assert set(annotations["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"].split(",")
    (container,) = pod_spec(job)["containers"]
    assert container["args"] == ["python", "manage.py", "migrate", "--noinput"]
    # A pre-install hook runs before the release's ConfigMap exists: its settings are inline.
    assert "envFrom" not in container
    inline = {item["name"]: item["value"] for item in container["env"] if "value" in item}
    assert inline == one(rendered, "ConfigMap", "ballast-config")["data"]
    hooks = [obj for obj in rendered if "helm.sh/hook" in obj["metadata"].get("annotations", {})]
    assert hooks == [job]


# --- workloads: probes, resources, security -----------------------------------------------


@pytest.mark.parametrize("name", RENDERINGS)
def test_every_container_has_resources_and_a_locked_down_security_context(name):
    for workload, container in containers(rendering(name)):
        resources = container["resources"]
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources[kind]), f"{workload}: {kind}"
        context = container["securityContext"]
        assert context["runAsNonRoot"] and context["readOnlyRootFilesystem"], workload
        assert context["allowPrivilegeEscalation"] is False, workload
        assert context["capabilities"]["drop"] == ["ALL"], workload
        assert container["imagePullPolicy"], workload
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], workload


@pytest.mark.parametrize("name", RENDERINGS)
def test_every_pod_runs_non_root_with_runtime_default_seccomp_and_an_empty_tmp(name):
    for obj in rendering(name):
        if obj["kind"] in {"Deployment", "Job"}:
            spec = pod_spec(obj)
            assert spec["securityContext"]["runAsNonRoot"]
            assert spec["securityContext"]["runAsUser"] >= 10000
            assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
            assert {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}} in spec["volumes"]


@pytest.mark.parametrize("name", RENDERINGS)
def test_every_long_running_container_has_liveness_and_readiness_probes(name):
    for workload, container in containers(rendering(name)):
        if workload.startswith("Deployment/"):
            assert container.get("livenessProbe") and container.get("readinessProbe"), workload
            assert container.get("startupProbe"), workload


@pytest.mark.parametrize("workload", ["ballast-beat", *WORKERS])
def test_workers_and_beat_are_probed_by_their_heartbeat(workload):
    (container,) = pod_spec(one(rendering("default"), "Deployment", workload))["containers"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["exec"]["command"] == HEARTBEAT_PROBE, probe
    # A worker writes its heartbeat every 30 s: a probe every 30 s, dead after 3 misses.
    assert container["livenessProbe"]["periodSeconds"] * 3 >= 90
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300


def test_web_is_live_on_healthz_and_ready_on_readyz():
    (container,) = pod_spec(one(rendering("default"), "Deployment", "ballast-web"))["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8000}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}


def test_exactly_one_beat_recreated_not_rolled():
    for name in RENDERINGS:
        beat = one(rendering(name), "Deployment", "ballast-beat")
        assert beat["spec"]["replicas"] == 1
        assert beat["spec"]["strategy"] == {"type": "Recreate"}
        targets = {
            obj["spec"]["scaleTargetRef"]["name"]
            for obj in rendering(name)
            if obj["kind"] in {"HorizontalPodAutoscaler", "ScaledObject"}
        }
        assert "ballast-beat" not in targets


def test_only_the_pods_that_call_the_kubernetes_api_mount_a_token():
    rendered = rendering("production")
    config = one(rendered, "ConfigMap", "ballast-config")["data"]
    assert config["BALLAST_KUBE_MODE"] == "in-cluster"
    accounts = {}
    for obj in rendered:
        if obj["kind"] in {"Deployment", "Job"}:
            spec = pod_spec(obj)
            assert "automountServiceAccountToken" in spec, obj["metadata"]["name"]
            token = spec["automountServiceAccountToken"]
            accounts[obj["metadata"]["name"]] = spec.get("serviceAccountName") if token else None
    assert accounts == {
        "ballast-web": "ballast",
        "ballast-worker-cpu": "ballast",
        "ballast-worker-control": "ballast",
        "ballast-worker-actuation": "ballast",
        "ballast-worker-webhooks": None,
        "ballast-worker-gpu": None,
        "ballast-beat": None,
        "ballast-migrate": None,
    }
    (account,) = [
        a for a in objects(rendered, "ServiceAccount") if a["metadata"]["name"] == "ballast"
    ]
    assert account["automountServiceAccountToken"] is False
    role_arn = "arn:aws:iam::123456789012:role/ballast-actuator"
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": role_arn}


def test_topology_spread_constraints_select_their_own_component():
    web = pod_spec(one(rendering("production"), "Deployment", "ballast-web"))
    constraints = web["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in constraints] == [
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    ]
    labels = one(rendering("production"), "Deployment", "ballast-web")["spec"]["selector"]
    assert all(c["labelSelector"] == labels for c in constraints)


# --- RBAC --------------------------------------------------------------------------------------


ACTUATOR_RULES = {
    (group, resource, verb)
    for group, resources in {
        "apps": ("deployments", "deployments/scale"),
        "autoscaling": ("horizontalpodautoscalers",),
        "keda.sh": ("scaledobjects",),
    }.items()
    for resource in resources
    for verb in ("get", "patch")
}


def test_roles_grant_exactly_what_the_actuators_call_in_the_target_namespaces():
    rendered = rendering("production")
    roles = {
        (r["metadata"]["namespace"], r["metadata"]["name"]): r for r in objects(rendered, "Role")
    }
    assert set(roles) == {
        ("inference", "ballast-actuator"),
        ("batch", "ballast-actuator"),
        ("inference", "ballast-impersonate-teams"),
    }
    for namespace in ("inference", "batch"):
        granted = {
            (group, resource, verb)
            for rule in roles[(namespace, "ballast-actuator")]["rules"]
            for group in rule["apiGroups"]
            for resource in rule["resources"]
            for verb in rule["verbs"]
        }
        assert granted == ACTUATOR_RULES
    assert not objects(rendered, "ClusterRole") and not objects(rendered, "ClusterRoleBinding")
    # Impersonation of the teams' accounts only, each by name; never of any account.
    (impersonate,) = roles[("inference", "ballast-impersonate-teams")]["rules"]
    assert impersonate == {
        "apiGroups": [""],
        "resources": ["serviceaccounts"],
        "verbs": ["impersonate"],
        "resourceNames": ["team-a-actuator", "team-b-actuator"],
    }
    teams = {
        (a["metadata"]["namespace"], a["metadata"]["name"])
        for a in objects(rendered, "ServiceAccount")
        if a["metadata"]["name"] != "ballast"
    }
    assert teams == {("inference", "team-a-actuator"), ("inference", "team-b-actuator")}
    bound = {
        (b["metadata"]["namespace"], b["roleRef"]["name"], s["namespace"], s["name"])
        for b in objects(rendered, "RoleBinding")
        for s in b["subjects"]
    }
    assert bound == {
        ("inference", "ballast-actuator", "ballast", "ballast"),
        ("batch", "ballast-actuator", "ballast", "ballast"),
        ("inference", "ballast-impersonate-teams", "ballast", "ballast"),
        ("inference", "ballast-actuator", "inference", "team-a-actuator"),
        ("inference", "ballast-actuator", "inference", "team-b-actuator"),
    }


def test_no_namespace_is_hard_coded_by_default():
    rendered = rendering("default")
    assert not objects(rendered, "Role") and not objects(rendered, "RoleBinding")
    assert {obj["metadata"].get("namespace") for obj in rendered} == {NAMESPACE}


# --- scaling: KEDA, HPAs, GPU ---------------------------------------------------------------


def scale_targets(rendered: list[dict[str, Any]], kind: str) -> list[str]:
    return [obj["spec"]["scaleTargetRef"]["name"] for obj in objects(rendered, kind)]


@pytest.mark.parametrize("name", RENDERINGS)
def test_no_deployment_has_both_an_hpa_and_a_scaled_object(name):
    rendered = rendering(name)
    hpas = scale_targets(rendered, "HorizontalPodAutoscaler")
    scaled = scale_targets(rendered, "ScaledObject")
    assert not set(hpas) & set(scaled)
    assert len(hpas + scaled) == len(set(hpas + scaled))
    for deployment in objects(rendered, "Deployment"):
        autoscaled = deployment["metadata"]["name"] in hpas + scaled
        # The autoscaler owns the count: an upgrade must not reset it.
        assert ("replicas" in deployment["spec"]) is not autoscaled, deployment["metadata"]


def test_keda_scales_the_cpu_and_gpu_workers_on_their_redis_lists():
    rendered = rendering("production")
    scaled = {obj["metadata"]["name"]: obj["spec"] for obj in objects(rendered, "ScaledObject")}
    assert set(scaled) == {"ballast-worker-cpu", "ballast-worker-gpu"}
    (auth,) = objects(rendered, "TriggerAuthentication")
    assert {(r["parameter"], r["name"], r["key"]) for r in auth["spec"]["secretTargetRef"]} == {
        ("address", "ballast-prod-secrets", "REDIS_ADDRESS"),
        ("password", "ballast-prod-secrets", "REDIS_PASSWORD"),
    }
    for name, spec in scaled.items():
        queue = name.removeprefix("ballast-worker-")
        assert spec["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "redis"
        assert trigger["metadata"]["listName"] == queue
        assert trigger["metadata"]["enableTLS"] == "true"
        assert trigger["authenticationRef"] == {"name": auth["metadata"]["name"]}
    assert scaled["ballast-worker-cpu"]["minReplicaCount"] >= 1
    assert scaled["ballast-worker-gpu"]["minReplicaCount"] == 0
    assert scale_targets(rendered, "HorizontalPodAutoscaler") == ["ballast-web"]


def test_the_gpu_worker_is_at_zero_when_idle_by_default():
    rendered = rendering("default")
    gpu = one(rendered, "ScaledObject", "ballast-worker-gpu")["spec"]
    assert gpu["minReplicaCount"] == 0
    assert gpu["triggers"][0]["metadata"]["activationListLength"] == "0"
    assert "replicas" not in one(rendered, "Deployment", "ballast-worker-gpu")["spec"]


def test_without_keda_the_cpu_worker_falls_back_to_its_cpu_hpa():
    rendered = render(values_with(keda={"enabled": False}))
    assert not objects(rendered, "ScaledObject") and not objects(rendered, "TriggerAuthentication")
    assert sorted(scale_targets(rendered, "HorizontalPodAutoscaler")) == [
        "ballast-web",
        "ballast-worker-cpu",
    ]
    assert one(rendered, "Deployment", "ballast-worker-gpu")["spec"]["replicas"] == 1


@pytest.mark.parametrize("name", ["default", "production"])
def test_the_gpu_worker_asks_for_a_gpu_on_a_node_karpenter_can_provision(name):
    spec = pod_spec(one(rendering(name), "Deployment", "ballast-worker-gpu"))
    (container,) = spec["containers"]
    for kind in ("requests", "limits"):
        assert int(container["resources"][kind]["nvidia.com/gpu"]) == 1
    # Labels Karpenter knows before a node exists; never GPU feature discovery's.
    assert spec["nodeSelector"]["karpenter.k8s.aws/instance-gpu-manufacturer"] == "nvidia"
    assert "nvidia.com/gpu.present" not in json.dumps(spec)
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec[
        "tolerations"
    ]
    assert container["args"][container["args"].index("-Q") + 1] == "gpu"
    # Karpenter leaves a GPU node alone while the worker trains; KEDA takes the pod away.
    template = one(rendering(name), "Deployment", "ballast-worker-gpu")["spec"]["template"]
    assert template["metadata"]["annotations"]["karpenter.sh/do-not-disrupt"] == "true"


def test_web_scales_on_cpu_with_an_autoscaling_v2_hpa():
    rendered = rendering("default")
    hpa = one(rendered, "HorizontalPodAutoscaler", "ballast-web")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["minReplicas"] >= 2
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert "replicas" not in one(rendered, "Deployment", "ballast-web")["spec"]
    fixed = render(FEATURES_OFF)
    assert one(fixed, "Deployment", "ballast-web")["spec"]["replicas"] == 2


# --- disruption budgets, network policies ---------------------------------------------------


def test_web_and_every_worker_have_a_disruption_budget_selecting_their_pods():
    rendered = rendering("production")
    budgets = {pdb["metadata"]["name"]: pdb for pdb in objects(rendered, "PodDisruptionBudget")}
    assert set(budgets) == {"ballast-web", *WORKERS}
    for name, pdb in budgets.items():
        labels = one(rendered, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        selector = pdb["spec"]["selector"]["matchLabels"]
        assert selector.items() <= labels.items(), name
        assert pdb["spec"]["maxUnavailable"] == 1
    assert not objects(render(FEATURES_OFF), "PodDisruptionBudget")


def selects(policy: dict[str, Any], labels: dict[str, str]) -> bool:
    return policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()


def test_network_policies_cover_every_pod_and_open_only_what_is_needed():
    rendered = rendering("default")
    policies = {p["metadata"]["name"]: p for p in objects(rendered, "NetworkPolicy")}
    assert set(policies) == {"ballast-default", "ballast-web", "ballast-workers"}
    default = policies["ballast-default"]
    assert default["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert default["spec"]["ingress"] == []
    egress = {
        (p["protocol"], p["port"]) for rule in default["spec"]["egress"] for p in rule["ports"]
    }
    assert egress == {
        ("UDP", 53),
        ("TCP", 53),
        ("TCP", 5432),
        ("TCP", 6379),
        ("TCP", 443),
        ("TCP", 6443),
    }
    for obj in rendered:
        if obj["kind"] in {"Deployment", "Job"}:
            labels = obj["spec"]["template"]["metadata"]["labels"]
            assert selects(default, labels), obj["metadata"]["name"]
            opened = {name for name, policy in policies.items() if selects(policy, labels)}
            expected = {
                "ballast-web": {"ballast-default", "ballast-web"},
                "ballast-beat": {"ballast-default"},
                "ballast-migrate": {"ballast-default"},
            }.get(obj["metadata"]["name"], {"ballast-default", "ballast-workers"})
            assert opened == expected, obj["metadata"]["name"]
    (web_rule,) = policies["ballast-web"]["spec"]["ingress"]
    assert web_rule["ports"] == [{"protocol": "TCP", "port": "http"}]
    namespaces = [peer["namespaceSelector"]["matchLabels"] for peer in web_rule["from"]]
    assert namespaces == [
        {"kubernetes.io/metadata.name": "ingress-nginx"},
        {"kubernetes.io/metadata.name": "monitoring"},
    ]
    (worker_rule,) = policies["ballast-workers"]["spec"]["ingress"]
    assert worker_rule["ports"] == [{"protocol": "TCP", "port": "metrics"}]


def test_production_network_policy_narrows_egress_to_the_given_peers():
    default = one(rendering("production"), "NetworkPolicy", "ballast-default")
    by_port = {rule["ports"][0]["port"]: rule.get("to") for rule in default["spec"]["egress"]}
    assert by_port[5432] == [{"ipBlock": {"cidr": "10.0.32.0/20"}}]
    assert by_port[6379] == [{"ipBlock": {"cidr": "10.0.48.0/20"}}]
    assert by_port[9090][0]["namespaceSelector"]


# --- monitoring: ServiceMonitor, alerts, dashboard ------------------------------------------


def test_the_service_monitor_scrapes_web_with_the_token_and_the_workers():
    rendered = rendering("production")
    monitor = one(rendered, "ServiceMonitor", "ballast")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    web, workers = monitor["spec"]["endpoints"]
    assert web["port"] == "http" and web["path"] == "/metrics"
    assert web["authorization"] == {
        "type": "Bearer",
        "credentials": {"name": "ballast-prod-secrets", "key": "BALLAST_METRICS_TOKEN"},
    }
    assert workers["port"] == "metrics"
    selector = monitor["spec"]["selector"]["matchLabels"]
    services = {
        s["metadata"]["name"]: s
        for s in objects(rendered, "Service")
        if selector.items() <= s["metadata"]["labels"].items()
    }
    assert set(services) == {"ballast-web", "ballast-workers"}
    assert {p["name"] for p in services["ballast-web"]["spec"]["ports"]} == {"http"}
    assert {p["name"] for p in services["ballast-workers"]["spec"]["ports"]} == {"metrics"}
    pods = services["ballast-workers"]["spec"]["selector"]
    for name in WORKERS:
        labels = one(rendered, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert pods.items() <= labels.items(), name
    web_pod = one(rendered, "Deployment", "ballast-web")["spec"]["template"]["metadata"]["labels"]
    assert not pods.items() <= web_pod.items()


def test_without_the_operator_pods_carry_scrape_annotations_instead():
    rendered = render(FEATURES_OFF)
    assert not objects(rendered, "ServiceMonitor")
    for name, port in [("ballast-web", "8000")] + [(w, "9808") for w in WORKERS]:
        annotations = one(rendered, "Deployment", name)["spec"]["template"]["metadata"][
            "annotations"
        ]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == port
    annotated = one(rendering("default"), "Deployment", "ballast-web")["spec"]["template"]
    assert "prometheus.io/scrape" not in annotated["metadata"]["annotations"]


def selectors(expr: Any) -> list[Any]:
    """Every vector selector of a parsed PromQL expression."""
    if isinstance(expr, promql_parser.VectorSelector):
        return [expr]
    if isinstance(expr, promql_parser.MatrixSelector):
        return [expr.vector_selector]
    if isinstance(expr, promql_parser.BinaryExpr):
        return selectors(expr.lhs) + selectors(expr.rhs)
    if isinstance(expr, promql_parser.Call):
        return [s for arg in expr.args for s in selectors(arg)]
    if isinstance(expr, promql_parser.AggregateExpr):
        return selectors(expr.expr) + (selectors(expr.param) if expr.param else [])
    if isinstance(expr, (promql_parser.ParenExpr, promql_parser.UnaryExpr)):
        return selectors(expr.expr)
    if isinstance(expr, promql_parser.SubqueryExpr):
        return selectors(expr.expr)
    return []


def metric_names(query: str) -> set[str]:
    """The metric names a PromQL query reads; fails on a query Prometheus would refuse."""
    return {selector.name for selector in selectors(promql_parser.parse(query))}


def test_every_ballast_metric_the_chart_reads_is_served_by_the_project():
    source = (REPO / "controlplane" / "metrics.py").read_text()
    for name in sorted(KNOWN_METRICS):
        if name.startswith("ballast_"):
            family = re.sub(r"_(total|bucket)$", "", name)
            assert f'"{family}"' in source, f"controlplane/metrics.py serves no {family}"


def test_promql_reading_finds_metrics_and_refuses_bad_queries():
    assert metric_names('sum by (q) (rate(a_total{x="1"}[5m])) / max(b)') == {"a_total", "b"}
    with pytest.raises(ValueError):
        promql_parser.parse("sum(rate(a_total[5m])")


def test_alert_rules_cover_the_agreed_failures_on_the_agreed_metrics():
    rule = one(rendering("production"), "PrometheusRule", "ballast")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    alerts = {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}
    assert set(alerts) == {
        "BallastQueueBacklog",
        "BallastQueueWithoutWorkers",
        "BallastMetricsAbsent",
        "BallastMetricSourcesStale",
        "BallastPlansTooOld",
        "BallastPlanApplyFailures",
        "BallastWebhookDeliveryFailures",
        "BallastTaskFailureRatio",
        "BallastWeb5xx",
    }
    reads = {}
    for name, alert in alerts.items():
        parsed = promql_parser.parse(alert["expr"])
        reads[name] = {s.name for s in selectors(parsed)}
        assert reads[name] <= KNOWN_METRICS, f"{name} reads {reads[name] - KNOWN_METRICS}"
        for selector in selectors(parsed):
            matchers = {(m.name, m.value) for m in selector.matchers.matchers}
            assert ("namespace", NAMESPACE) in matchers, f"{name}: {selector}"
        assert alert["labels"]["severity"] in {"warning", "critical"}
        assert alert["annotations"]["summary"] and alert["annotations"]["description"]
    assert reads["BallastQueueBacklog"] == {"ballast_celery_queue_length"}
    assert reads["BallastQueueWithoutWorkers"] == {
        "ballast_celery_queue_length",
        "ballast_celery_workers",
    }
    assert reads["BallastMetricSourcesStale"] == {"ballast_metric_sources_stale"}
    assert reads["BallastPlansTooOld"] == {"ballast_plan_age_max_seconds"}
    assert reads["BallastPlanApplyFailures"] == {"ballast_plan_apply_failures_1h"}
    assert reads["BallastWebhookDeliveryFailures"] == {"ballast_webhook_delivery_failures_1h"}
    assert reads["BallastTaskFailureRatio"] == {"ballast_celery_tasks_total"}
    assert reads["BallastWeb5xx"] == {"django_http_responses_total_by_status_total"}
    # Prometheus's own templates survive Helm's: the labels are filled in at alert time.
    assert "{{ $labels.queue }}" in alerts["BallastQueueBacklog"]["annotations"]["summary"]


def test_thresholds_come_from_the_values():
    values = values_with(
        metrics={"prometheusRule": {"enabled": True, "queueBacklog": 7, "planAgeSeconds": 60}}
    )
    rule = one(render(values), "PrometheusRule", "ballast")
    alerts = {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}
    assert alerts["BallastQueueBacklog"]["expr"].endswith("> 7")
    assert alerts["BallastPlansTooOld"]["expr"].endswith("> 60")


DASHBOARD = CHART / "dashboards" / "ballast.json"


def dashboard_queries(dashboard: dict[str, Any]) -> list[str]:
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


def test_the_dashboard_ships_as_a_configmap_for_grafanas_sidecar():
    config = one(rendering("production"), "ConfigMap", "ballast-dashboard")
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config["metadata"]["annotations"] == {"grafana_folder": "Ballast"}
    assert json.loads(config["data"]["ballast.json"]) == json.loads(DASHBOARD.read_text())
    assert not [c for c in objects(render(FEATURES_OFF), "ConfigMap") if "dashboard" in str(c)]


def test_the_dashboard_charts_every_agreed_metric_with_valid_queries():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] == "Ballast"
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert variables == {"datasource", "namespace"}
    read = set()
    for query in dashboard_queries(dashboard):
        # Grafana's variables, as Grafana substitutes them before Prometheus parses the query.
        concrete = query.replace("$__rate_interval", "5m").replace("$namespace", "ballast")
        names = metric_names(concrete)
        assert names <= KNOWN_METRICS, f"{query}: {names - KNOWN_METRICS}"
        assert 'namespace="$namespace"' in query
        read |= names
    assert AGREED_METRICS - {"ballast_task_duration_seconds"} <= read
    assert "ballast_task_duration_seconds_bucket" in read
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]


# --- switches -----------------------------------------------------------------------------


def keys(rendered: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(obj["kind"], obj["metadata"]["name"]) for obj in rendered}


@pytest.mark.parametrize(
    "values, removed, added",
    [
        (
            {"keda": {"enabled": False}},
            {
                ("ScaledObject", "ballast-worker-cpu"),
                ("ScaledObject", "ballast-worker-gpu"),
                ("TriggerAuthentication", "ballast-redis"),
            },
            {("HorizontalPodAutoscaler", "ballast-worker-cpu")},
        ),
        (
            {"metrics": {"serviceMonitor": {"enabled": False}}},
            {("ServiceMonitor", "ballast"), ("Service", "ballast-workers")},
            set(),
        ),
        (
            {"metrics": {"prometheusRule": {"enabled": False}}},
            {("PrometheusRule", "ballast")},
            set(),
        ),
        (
            {"grafana": {"dashboard": {"enabled": False}}},
            {("ConfigMap", "ballast-dashboard")},
            set(),
        ),
        (
            {"networkPolicy": {"enabled": False}},
            {
                ("NetworkPolicy", "ballast-default"),
                ("NetworkPolicy", "ballast-web"),
                ("NetworkPolicy", "ballast-workers"),
            },
            set(),
        ),
        (
            {"web": {"autoscaling": {"enabled": False}}},
            {("HorizontalPodAutoscaler", "ballast-web")},
            set(),
        ),
    ],
    ids=["keda", "serviceMonitor", "prometheusRule", "dashboard", "networkPolicy", "web-hpa"],
)
def test_each_switch_removes_its_objects_and_nothing_else(values, removed, added):
    on, off = keys(rendering("default")), keys(render(values))
    assert on - off == removed
    assert off - on == added


def test_a_disabled_worker_has_no_objects():
    values = {"workers": {"gpu": {"enabled": False}}}
    names = {obj["metadata"]["name"] for obj in render(values)}
    assert "ballast-worker-gpu" not in names
    assert "ballast-worker-cpu" in names


def _worker_queues(rendered: list[dict[str, Any]], name: str) -> str:
    (container,) = pod_spec(one(rendered, "Deployment", name))["containers"]
    args = container["args"]
    return args[args.index("-Q") + 1]


def test_without_the_gpu_worker_the_cpu_worker_takes_the_gpu_queue():
    assert _worker_queues(rendering("default"), "ballast-worker-cpu") == "cpu"
    assert _worker_queues(rendering("default"), "ballast-worker-gpu") == "gpu"
    off = render({"workers": {"gpu": {"enabled": False}}})
    assert _worker_queues(off, "ballast-worker-cpu") == "cpu,gpu"
