"""Kubernetes actuators: a Deployment's scale, a HorizontalPodAutoscaler, a KEDA ScaledObject.

Each class drives one object through the official `kubernetes` client. Credentials come only
from configuration, a kubeconfig file or the pod's service account (`load_api_client`); nothing
here stores any.

Idempotency lives on the object itself: every apply records its key in the annotation
`ballast.io/apply-keys` (the most recent keys, comma-separated), in the same patch as the change
for an HPA or a ScaledObject and in a write right after the scale for a Deployment (whose scale
subresource takes no annotations). Every write carries the resourceVersion it was computed from,
so a redelivered step finds its key and is skipped, and a write that raced another one is
refused (409), re-read and retried. Dry run is enforced
here: a dry-run actuator sends its patches with `dryRun=All`, so the API server validates them
(admission included) and persists nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from actuators.base import (
    ActuatorError,
    PermanentError,
    Serving,
    Step,
    StepResult,
    TransientError,
)
from optimization.purchase import OPTIONS

APPLY_KEYS_ANNOTATION = "ballast.io/apply-keys"
MAX_RECORDED_KEYS = 20  # keeps the annotation small; redeliveries come within a few steps
CONFLICT_RETRIES = 2  # a 409 is re-read and retried this many times inside one apply
DEFAULT_REQUEST_TIMEOUT_S = 10.0
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"  # Karpenter's well-known node label
# Purchase option -> the capacity type its pool's pods are pinned to (`optimization.purchase`).
KARPENTER_CAPACITY_TYPES = {option.name: option.capacity_type for option in OPTIONS}

KEDA_GROUP, KEDA_VERSION, KEDA_PLURAL = "keda.sh", "v1alpha1", "scaledobjects"
# KEDA's documented defaults when a ScaledObject leaves the counts out.
KEDA_DEFAULT_MIN_REPLICA_COUNT, KEDA_DEFAULT_MAX_REPLICA_COUNT = 0, 100


def load_api_client(
    mode: str, kubeconfig: str | None = None, context: str | None = None
) -> client.ApiClient:
    """An API client configured from the environment, never from the database.

    Args:
        mode: "in-cluster" (the pod's service account) or "kubeconfig".
        kubeconfig: path of the kubeconfig file; None means $KUBECONFIG or ~/.kube/config.
        context: kubeconfig context; None means its current-context.
    """
    # kubernetes.config's loaders have no annotations (the package's py.typed covers the client).
    if mode == "in-cluster":
        configuration = client.Configuration()
        config.load_incluster_config(  # type: ignore[no-untyped-call]  # unannotated upstream
            client_configuration=configuration
        )
        return client.ApiClient(configuration)
    if mode == "kubeconfig":
        api: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=context, persist_config=False
        )
        return api
    raise ValueError(f"unknown Kubernetes client mode {mode!r}; use 'in-cluster' or 'kubeconfig'")


@dataclass(frozen=True, slots=True)
class _Observed:
    state: dict[str, int]
    resource_version: str
    applied_keys: list[str]


class _KubernetesActuator:
    """What the three kinds share: targets, the conflict retry, dry run, error mapping."""

    kind: ClassVar[str]  # the target's prefix, "k8s_deployment"
    settings: ClassVar[tuple[str, ...]]
    api_class: ClassVar[type[Any]]  # the client API class the kind is served by

    def __init__(
        self,
        api_client: client.ApiClient,
        reference: str,
        dry_run: bool = True,
        *,
        request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S,
    ):
        namespace, _, name = reference.partition("/")
        if not namespace or not name or "/" in name:
            raise ValueError(f"reference must be 'namespace/name', got {reference!r}")
        self.namespace, self.name = namespace, name
        self.target = f"{self.kind}:{namespace}/{name}"
        self.dry_run = dry_run
        self.request_timeout_s = request_timeout_s
        self._api = self.api_class(api_client)
        self._dry_run_accepted: dict[str, int] = {}  # setting -> value the server validated
        self._dry_run_keys: set[str] = set()

    def describe(self) -> dict[str, int]:
        """The observed state, read from the API server."""
        try:
            return self._read().state
        except (ApiException, urllib3.exceptions.HTTPError) as exc:
            raise self._error(exc, ", ".join(self.settings)) from exc

    def apply(self, step: Step, key: str) -> StepResult:
        """Perform `step` once per `key`; a 409 is re-read and retried a couple of times."""
        self._check(step, key)
        conflicts_left = CONFLICT_RETRIES
        while True:
            try:
                return self._apply_once(step, key)
            except ApiException as exc:
                if exc.status == 409 and conflicts_left > 0:
                    conflicts_left -= 1
                    continue
                raise self._error(exc, step.setting) from exc
            except urllib3.exceptions.HTTPError as exc:
                raise self._error(exc, step.setting) from exc

    def verify(self, step: Step) -> bool:
        """Whether the object holds `step.after`; in dry run, whether the server accepted it."""
        if self.dry_run:
            return self._dry_run_accepted.get(step.setting) == step.after
        return self.describe().get(step.setting) == step.after

    def serving(self) -> Serving | None:
        """Not observed: an HPA's or a ScaledObject's status counts pods, not ready ones.

        (An HPA's `status.currentReplicas` is its scale target's pod count; KEDA reports no
        count.) The Deployment they scale, when it is a target too, is read instead.
        """
        return None

    def _read(self) -> _Observed:
        raise NotImplementedError

    def _apply_once(self, step: Step, key: str) -> StepResult:
        raise NotImplementedError

    def _already_applied(self, observed: _Observed, key: str) -> bool:
        return key in observed.applied_keys or key in self._dry_run_keys

    def _skipped(self, step: Step, key: str) -> StepResult:
        return StepResult(step, False, self.dry_run, f"already applied under key {key}")

    def _applied(self, step: Step, key: str, detail: str) -> StepResult:
        if self.dry_run:
            self._dry_run_keys.add(key)
            self._dry_run_accepted[step.setting] = step.after
            return StepResult(step, True, True, f"dry run: the API server accepted {detail}")
        return StepResult(step, True, False, detail)

    @property
    def _dry_run_param(self) -> str | None:
        return "All" if self.dry_run else None

    def _check(self, step: Step, key: str) -> None:
        if step.target != self.target:
            raise PermanentError(f"{self.target}: step is for another target, {step.target}")
        if step.setting not in self.settings:
            raise PermanentError(
                f"{self.target}: no setting {step.setting!r}; it has {', '.join(self.settings)}"
            )
        if not key or "," in key:
            raise ValueError(f"idempotency key must be non-empty without commas, got {key!r}")

    def _error(self, exc: Exception, setting: str) -> ActuatorError:
        where = f"{self.target} {setting}"
        if not isinstance(exc, ApiException):
            return TransientError(f"{where}: no answer from the API server ({exc})")
        status, message = exc.status or 0, _server_message(exc)
        if status == 404:
            return PermanentError(f"{where}: not found ({message})")
        if status in (400, 422):
            return PermanentError(f"{where}: rejected by the API server: {message}")
        if status in (401, 403):
            return PermanentError(f"{where}: access denied ({status}): {message}")
        if status == 409:
            return TransientError(
                f"{where}: still conflicting after {CONFLICT_RETRIES + 1} attempts: {message}"
            )
        if status == 429 or status >= 500:
            return TransientError(f"{where}: API server unavailable ({status}): {message}")
        return PermanentError(f"{where}: unexpected API response ({status}): {message}")


class KubernetesDeployment(_KubernetesActuator):
    """A Deployment's replicas, read through its scale subresource, written with their key.

    With `capacity_type` (a purchase option, "on_demand", "spot" or "reserved") the Deployment
    carries that pool only, and every read checks that its pods are pinned to the option's
    capacity type (`karpenter.sh/capacity-type` in the pod template's node selector or required
    node affinity): replicas of one purchase option never land on another's nodes unnoticed.
    """

    kind = "k8s_deployment"
    settings = ("replicas",)
    api_class = client.AppsV1Api

    def __init__(self, *args: Any, capacity_type: str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.capacity_type = capacity_type

    def _read(self) -> _Observed:
        # The scale subresource shares the Deployment's resourceVersion; its annotations are
        # the Deployment's, read first so that any change after that read fails our writes.
        deployment = self._api.read_namespaced_deployment(
            self.name, self.namespace, _request_timeout=self.request_timeout_s
        )
        if self.capacity_type:
            self._check_pinned(deployment)
        scale = self._api.read_namespaced_deployment_scale(
            self.name, self.namespace, _request_timeout=self.request_timeout_s
        )
        metadata = deployment.metadata
        return _Observed(
            {"replicas": (scale.spec.replicas if scale.spec else None) or 0},
            metadata.resource_version,
            _applied_keys(metadata.annotations),
        )

    def serving(self) -> Serving | None:
        """Ready and still-coming pods of the Deployment's pool; None in dry run.

        Ready is `status.readyReplicas` (pods passing their readiness probe); pending is the
        rest of `spec.replicas` (pods scheduling, booting, or waiting for a node that could not
        be had). The pool's instance type is not reported ("": Karpenter picks the nodes); its
        purchase option is the one the Deployment carries, "" when it carries every pool.
        """
        if self.dry_run:
            return None
        try:
            deployment = self._api.read_namespaced_deployment(
                self.name, self.namespace, _request_timeout=self.request_timeout_s
            )
        except (ApiException, urllib3.exceptions.HTTPError) as exc:
            raise self._error(exc, "ready replicas") from exc
        spec_replicas = deployment.spec.replicas
        asked = 1 if spec_replicas is None else spec_replicas  # the API's default
        ready = (deployment.status.ready_replicas if deployment.status else None) or 0
        return {("", self.capacity_type): (ready, max(0, asked - ready))}

    def _apply_once(self, step: Step, key: str) -> StepResult:
        observed = self._read()
        if self._already_applied(observed, key):
            return self._skipped(step, key)
        # The replicas and the key that records them are one write, refused (409) if the
        # Deployment changed since the read: a second copy of the step either finds the key or
        # fails the write, so the change is made once (the scale subresource cannot carry the
        # key, so the Deployment itself is patched).
        detail = f"set {step.describe()}"
        if not self.dry_run and observed.state["replicas"] == step.after:
            detail = f"{self.target} replicas already {step.after}; recorded key {key}"
        self._api.patch_namespaced_deployment(
            self.name,
            self.namespace,
            {
                "metadata": _recorded_key(observed.resource_version, observed.applied_keys, key),
                "spec": {"replicas": step.after},
            },
            dry_run=self._dry_run_param,
            _request_timeout=self.request_timeout_s,
        )
        return self._applied(step, key, detail)

    def _check_pinned(self, deployment: Any) -> None:
        wanted = KARPENTER_CAPACITY_TYPES[self.capacity_type]
        pinned = _capacity_types(deployment.spec.template.spec)
        if pinned != {wanted}:
            found = ", ".join(sorted(pinned)) or "none"
            raise PermanentError(
                f"{self.target} carries the {self.capacity_type} pool, but its pods are pinned to "
                f"capacity type {found}: set nodeSelector {CAPACITY_TYPE_LABEL}: {wanted}"
            )


def _capacity_types(pod_spec: Any) -> set[str]:
    """The capacity types a pod template allows: node selector, else required node affinity."""
    selector = (pod_spec.node_selector or {}) if pod_spec else {}
    if CAPACITY_TYPE_LABEL in selector:
        return {selector[CAPACITY_TYPE_LABEL]}
    affinity = pod_spec.affinity.node_affinity if pod_spec and pod_spec.affinity else None
    required = affinity.required_during_scheduling_ignored_during_execution if affinity else None
    allowed: set[str] = set()
    for term in (required.node_selector_terms or []) if required else []:
        for expression in term.match_expressions or []:
            if expression.key == CAPACITY_TYPE_LABEL and expression.operator == "In":
                allowed |= set(expression.values or [])
    return allowed


class _SpecActuator(_KubernetesActuator):
    """Objects whose settings are spec fields, changed with the key in one patch."""

    spec_fields: ClassVar[dict[str, str]]  # setting -> spec field

    def _patch(self, body: dict[str, Any]) -> None:
        raise NotImplementedError

    def _apply_once(self, step: Step, key: str) -> StepResult:
        observed = self._read()
        if self._already_applied(observed, key):
            return self._skipped(step, key)
        self._patch(
            {
                "metadata": _recorded_key(observed.resource_version, observed.applied_keys, key),
                "spec": {self.spec_fields[step.setting]: step.after},
            }
        )
        return self._applied(step, key, f"set {step.describe()}")


class HorizontalPodAutoscaler(_SpecActuator):
    """An autoscaling/v2 HorizontalPodAutoscaler's replica bounds."""

    kind = "k8s_hpa"
    settings = ("max_replicas", "min_replicas")
    api_class = client.AutoscalingV2Api
    spec_fields = {"max_replicas": "maxReplicas", "min_replicas": "minReplicas"}

    def _read(self) -> _Observed:
        hpa = self._api.read_namespaced_horizontal_pod_autoscaler(
            self.name, self.namespace, _request_timeout=self.request_timeout_s
        )
        min_replicas = hpa.spec.min_replicas
        return _Observed(
            {
                "max_replicas": hpa.spec.max_replicas,
                "min_replicas": 1 if min_replicas is None else min_replicas,  # the API's default
            },
            hpa.metadata.resource_version,
            _applied_keys(hpa.metadata.annotations),
        )

    def _patch(self, body: dict[str, Any]) -> None:
        self._api.patch_namespaced_horizontal_pod_autoscaler(
            self.name,
            self.namespace,
            body,
            dry_run=self._dry_run_param,
            _request_timeout=self.request_timeout_s,
        )


class KedaScaledObject(_SpecActuator):
    """A KEDA ScaledObject's replica counts (keda.sh/v1alpha1)."""

    kind = "k8s_scaledobject"
    settings = ("max_replica_count", "min_replica_count")
    api_class = client.CustomObjectsApi
    spec_fields = {"max_replica_count": "maxReplicaCount", "min_replica_count": "minReplicaCount"}

    def _read(self) -> _Observed:
        scaled_object: dict[str, Any] = self._api.get_namespaced_custom_object(
            KEDA_GROUP,
            KEDA_VERSION,
            self.namespace,
            KEDA_PLURAL,
            self.name,
            _request_timeout=self.request_timeout_s,
        )
        spec, metadata = scaled_object.get("spec") or {}, scaled_object["metadata"]
        return _Observed(
            {
                "max_replica_count": int(
                    spec.get("maxReplicaCount", KEDA_DEFAULT_MAX_REPLICA_COUNT)
                ),
                "min_replica_count": int(
                    spec.get("minReplicaCount", KEDA_DEFAULT_MIN_REPLICA_COUNT)
                ),
            },
            metadata["resourceVersion"],
            _applied_keys(metadata.get("annotations")),
        )

    def _patch(self, body: dict[str, Any]) -> None:
        self._api.patch_namespaced_custom_object(
            KEDA_GROUP,
            KEDA_VERSION,
            self.namespace,
            KEDA_PLURAL,
            self.name,
            body,
            dry_run=self._dry_run_param,
            _request_timeout=self.request_timeout_s,
        )


def _applied_keys(annotations: dict[str, str] | None) -> list[str]:
    raw = (annotations or {}).get(APPLY_KEYS_ANNOTATION, "")
    return [key for key in raw.split(",") if key]


def _recorded_key(resource_version: str, applied_keys: list[str], key: str) -> dict[str, Any]:
    """Patch metadata that records `key`, refused (409) if the object changed since the read."""
    kept = ",".join([*applied_keys, key][-MAX_RECORDED_KEYS:])
    return {"resourceVersion": resource_version, "annotations": {APPLY_KEYS_ANNOTATION: kept}}


def _server_message(exc: ApiException) -> str:
    """The `message` of the Status object the API server answered with, else the reason."""
    try:
        status = json.loads(exc.body or "")
    except ValueError:
        status = None
    if isinstance(status, dict) and status.get("message"):
        return str(status["message"])
    return str(exc.reason or f"HTTP {exc.status}")
