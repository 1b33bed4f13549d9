"""A small Kubernetes API server for actuator tests, speaking the real wire format.

It serves exactly what actuators/kubernetes.py uses: GET and PATCH of Deployments (and their
autoscaling/v1 scale subresource), autoscaling/v2 HorizontalPodAutoscalers and KEDA
ScaledObjects. Like the real API server it bumps resourceVersion on every write, refuses a patch
carrying a stale metadata.resourceVersion (409 Conflict), validates (422 Invalid), honours
`?dryRun=All` (validate, answer the would-be object, persist nothing) and answers errors with
Status objects. The kubernetes client sends strategic merge patches for built-in kinds and merge
patches for custom resources; both are applied as RFC 7386 merges, which is what a strategic
merge does when, as here, no patch carries a list. Custom resources refuse strategic merge (415),
as the real server does.

Hooks for tests: `fail_next` (answer N requests with 429/500/409/...), `delay_next` (answer
late, to provoke a client timeout; the request is still carried out, as a real server may),
`edit` (change an object behind the actuator's back), `edit_after_next_read` (do so just
after the actuator has read it, so its write carries a stale resourceVersion) and
`hold_unready` (pods of a Deployment that do not become ready).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# resource -> (group, version, kind)
RESOURCES = {
    "deployments": ("apps", "v1", "Deployment"),
    "horizontalpodautoscalers": ("autoscaling", "v2", "HorizontalPodAutoscaler"),
    "scaledobjects": ("keda.sh", "v1alpha1", "ScaledObject"),
}
CUSTOM_RESOURCES = {"scaledobjects"}
ROUTE = re.compile(
    r"^/apis/(?P<group>[^/]+)/(?P<version>[^/]+)/namespaces/(?P<namespace>[^/]+)"
    r"/(?P<resource>[^/]+)/(?P<name>[^/]+)(?P<subresource>/scale)?$"
)
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"

Change = Callable[[dict[str, Any]], None]


class ApiError(Exception):
    """An error the server answers with a Status object."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


REASONS = {
    400: "BadRequest",
    404: "NotFound",
    409: "Conflict",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str
    body: Any


@dataclass
class _Fault:
    status: int
    method: str | None
    remaining: int
    passes: int = 0  # matching requests to let through first


@dataclass
class _Delay:
    seconds: float
    method: str | None
    remaining: int


@dataclass
class _ReadHook:
    key: tuple[str, str, str]
    change: Change
    remaining: int


class KubernetesApiServer:
    """Objects in memory behind a ThreadingHTTPServer on 127.0.0.1, port chosen by the OS."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.requests: list[Request] = []
        self.writes: list[tuple[str, str, str]] = []  # persisted writes: (resource, ns, name)
        self.impersonated: list[str] = []  # each request's Impersonate-User header, "" if none
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._read_hooks: list[_ReadHook] = []
        self._unready: dict[tuple[str, str], int] = {}  # Deployment -> pods that never get ready
        self._versions = itertools.count(1000)
        self._lock = threading.RLock()
        self._idle = threading.Condition()
        self._in_flight = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._httpd.api = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> KubernetesApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- objects -------------------------------------------------------------------------------

    def add_deployment(
        self,
        namespace: str,
        name: str,
        replicas: int = 3,
        annotations: dict[str, str] | None = None,
        node_selector: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        labels = {"app": name}
        pod: dict[str, Any] = {"containers": [{"name": name, "image": f"registry.local/{name}:1"}]}
        if node_selector:
            pod["nodeSelector"] = node_selector
        spec = {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod},
        }
        return self._create("deployments", namespace, name, spec, annotations)

    def add_hpa(
        self, namespace: str, name: str, min_replicas: int = 2, max_replicas: int = 10
    ) -> dict[str, Any]:
        spec = {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        }
        return self._create("horizontalpodautoscalers", namespace, name, spec)

    def add_scaled_object(
        self, namespace: str, name: str, min_replica_count: int = 1, max_replica_count: int = 20
    ) -> dict[str, Any]:
        spec = {
            "scaleTargetRef": {"name": name},
            "minReplicaCount": min_replica_count,
            "maxReplicaCount": max_replica_count,
            "triggers": [
                {
                    "type": "prometheus",
                    "metadata": {
                        "serverAddress": "http://prometheus.monitoring:9090",
                        "query": f'sum(rate(http_requests_total{{app="{name}"}}[1m]))',
                        "threshold": "100",
                    },
                }
            ],
        }
        return self._create("scaledobjects", namespace, name, spec)

    def hold_unready(self, namespace: str, name: str, pods: int) -> dict[str, Any]:
        """Keep `pods` of a Deployment's replicas out of readyReplicas (no node, a failed probe)."""
        with self._lock:
            self._unready[(namespace, name)] = pods
            obj = copy.deepcopy(self.objects[("deployments", namespace, name)])
            return self._persist("deployments", obj, count_write=False)

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.objects[(resource, namespace, name)])

    def edit(self, resource: str, namespace: str, name: str, change: Change) -> dict[str, Any]:
        """Change an object behind the actuator's back, as another writer would."""
        with self._lock:
            obj = copy.deepcopy(self.objects[(resource, namespace, name)])
            change(obj)
            return self._persist(resource, obj, count_write=False)

    def write_count(self, resource: str, namespace: str, name: str) -> int:
        with self._lock:
            return self.writes.count((resource, namespace, name))

    # --- fault injection -----------------------------------------------------------------------

    def fail_next(
        self, status: int, times: int = 1, method: str | None = None, after: int = 0
    ) -> None:
        """Answer `times` requests (of `method`, if given) with an error Status.

        The first `after` matching requests pass untouched: `after=1, method="PATCH"` fails a
        second write after letting the first one through.
        """
        with self._lock:
            self._faults.append(_Fault(status, method, times, after))

    def delay_next(self, seconds: float, times: int = 1, method: str | None = None) -> None:
        """Hold the next `times` requests (of `method`) for `seconds`, then carry them out."""
        with self._lock:
            self._delays.append(_Delay(seconds, method, times))

    def edit_after_next_read(
        self, resource: str, namespace: str, name: str, change: Change, times: int = 1
    ) -> None:
        """Right after each of the next `times` GETs of the object, apply `change` to it."""
        with self._lock:
            self._read_hooks.append(_ReadHook((resource, namespace, name), change, times))

    def wait_until_idle(self, timeout_s: float = 5.0) -> None:
        """Wait for delayed requests to finish (a timed-out client does not wait for them)."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._in_flight == 0, timeout_s):
                raise TimeoutError("requests still in flight")

    # --- serving -------------------------------------------------------------------------------

    def handle(
        self, method: str, raw_path: str, content_type: str, raw_body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """Answer one request: (HTTP status, JSON body)."""
        with self._idle:
            self._in_flight += 1
        try:
            return self._handle(method, raw_path, content_type, raw_body)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _handle(
        self, method: str, raw_path: str, content_type: str, raw_body: bytes
    ) -> tuple[int, dict[str, Any]]:
        url = urlsplit(raw_path)
        query = parse_qs(url.query)
        media_type = content_type.split(";")[0].strip()
        try:
            body = json.loads(raw_body) if raw_body else None
        except ValueError:
            body = raw_body.decode(errors="replace")
        with self._lock:
            self.requests.append(Request(method, url.path, query, media_type, body))
            delay = self._take(self._delays, method)
        if delay:
            time.sleep(delay.seconds)
        try:
            with self._lock:
                if fault := self._take(self._faults, method):
                    raise ApiError(
                        fault.status, REASONS.get(fault.status, "Unknown"), _fault(fault)
                    )
                return 200, self._route(method, url.path, query, media_type, body)
        except ApiError as exc:
            return exc.code, exc.status()

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], media_type: str, body: Any
    ) -> dict[str, Any]:
        match = ROUTE.match(path)
        resource = match["resource"] if match else ""
        if not match or RESOURCES.get(resource, ())[:2] != (match["group"], match["version"]):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if match["subresource"] and resource != "deployments":
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        key = (resource, match["namespace"], match["name"])
        if key not in self.objects:
            group = RESOURCES[resource][0]
            raise ApiError(
                404,
                "NotFound",
                f'{resource}.{group} "{key[2]}" not found',
                {"name": key[2], "group": group, "kind": resource},
            )
        scale = bool(match["subresource"])
        if method == "GET":
            current = self.objects[key]
            answer = _scale_of(current) if scale else copy.deepcopy(current)
            self._run_read_hooks(key)
            return answer
        return self._patch(key, scale, query, media_type, body)

    def _patch(
        self,
        key: tuple[str, str, str],
        scale: bool,
        query: dict[str, list[str]],
        media_type: str,
        patch: Any,
    ) -> dict[str, Any]:
        resource, _, name = key
        dry_run = query.get("dryRun", [])
        if dry_run not in ([], ["All"]):
            raise ApiError(400, "BadRequest", f'dryRun: Unsupported value: "{dry_run[0]}"')
        allowed = (
            {MERGE_PATCH} if resource in CUSTOM_RESOURCES else {MERGE_PATCH, STRATEGIC_MERGE_PATCH}
        )
        if media_type not in allowed:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {', '.join(sorted(allowed))}",
            )
        if not isinstance(patch, dict):
            raise ApiError(400, "BadRequest", "error decoding patch: not a JSON object")
        current = self.objects[key]
        before = _scale_of(current) if scale else current
        merged = _merge(before, patch)
        if merged["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            group = RESOURCES[resource][0]
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {resource}.{group} "{name}": the object has '
                f"been modified; please apply your changes to the latest version and try again",
                {"name": name, "group": group, "kind": resource},
            )
        if scale:
            _validate("Scale", "autoscaling", name, merged)
            merged = _merge(current, {"spec": {"replicas": merged["spec"].get("replicas", 0)}})
        _validate(current["kind"], RESOURCES[resource][0], name, merged)
        if dry_run:
            return _scale_of(merged) if scale else merged
        persisted = self._persist(resource, merged, count_write=True)
        return _scale_of(persisted) if scale else copy.deepcopy(persisted)

    def _create(
        self,
        resource: str,
        namespace: str,
        name: str,
        spec: dict[str, Any],
        annotations: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        group, version, kind = RESOURCES[resource]
        metadata: dict[str, Any] = {
            "name": name,
            "namespace": namespace,
            "uid": f"00000000-0000-4000-8000-{len(self.objects):012d}",
            "generation": 0,
            "creationTimestamp": "2025-01-01T00:00:00Z",
        }
        if annotations:
            metadata["annotations"] = dict(annotations)
        obj = {"kind": kind, "apiVersion": f"{group}/{version}", "metadata": metadata, "spec": spec}
        with self._lock:
            return self._persist(resource, obj, count_write=False)

    def _persist(self, resource: str, obj: dict[str, Any], count_write: bool) -> dict[str, Any]:
        """Store `obj` under a new resourceVersion, as the controllers would see it settle."""
        metadata = obj["metadata"]
        key = (resource, metadata["namespace"], metadata["name"])
        previous = self.objects.get(key)
        if previous is None or previous["spec"] != obj["spec"]:
            metadata["generation"] = metadata.get("generation", 0) + 1
        metadata["resourceVersion"] = str(next(self._versions))
        obj["status"] = _status_of(resource, obj)
        unready = self._unready.get(key[1:], 0) if resource == "deployments" else 0
        if unready:
            status = obj["status"]
            status["readyReplicas"] = status["availableReplicas"] = max(
                0, status["readyReplicas"] - unready
            )
        self.objects[key] = obj
        if count_write:
            self.writes.append(key)
        return copy.deepcopy(obj)

    def _take(self, queue: list[Any], method: str) -> Any:
        for item in queue:
            if item.method in (None, method):
                if getattr(item, "passes", 0) > 0:
                    item.passes -= 1
                    return None
                item.remaining -= 1
                if item.remaining <= 0:
                    queue.remove(item)
                return item
        return None

    def _run_read_hooks(self, key: tuple[str, str, str]) -> None:
        for hook in [h for h in self._read_hooks if h.key == key]:
            hook.remaining -= 1
            if hook.remaining <= 0:
                self._read_hooks.remove(hook)
            self.edit(*key, hook.change)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's urllib3 pool expects
    disable_nagle_algorithm = True  # headers and body go out in two writes

    # Only GET and PATCH are served; http.server answers 501 to anything else.
    def do_GET(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        api: KubernetesApiServer = self.server.api  # type: ignore[attr-defined]
        api.impersonated.append(self.headers.get("Impersonate-User", ""))
        code, payload = api.handle(
            self.command, self.path, self.headers.get("Content-Type", ""), raw_body
        )
        data = json.dumps(payload).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); a real server logs and moves on

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = copy.deepcopy(target) if isinstance(target, dict) else {}
    for field, value in patch.items():
        if value is None:
            merged.pop(field, None)
        else:
            merged[field] = _merge(merged.get(field), value)
    return merged


def _scale_of(deployment: dict[str, Any]) -> dict[str, Any]:
    """The autoscaling/v1 Scale view of a Deployment (0 replicas is omitted, as in Go)."""
    metadata = deployment["metadata"]
    replicas = deployment["spec"].get("replicas", 1)
    labels = deployment["spec"]["selector"]["matchLabels"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            key: metadata[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
        },
        "spec": {"replicas": replicas} if replicas else {},
        "status": {
            "replicas": deployment.get("status", {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        },
    }


def _status_of(resource: str, obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj["spec"]
    if resource == "deployments":
        replicas = spec.get("replicas", 1)
        return {
            "observedGeneration": obj["metadata"]["generation"],
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
        }
    if resource == "horizontalpodautoscalers":
        replicas = spec.get("minReplicas", 1)
        return {"currentReplicas": replicas, "desiredReplicas": replicas}
    return {"scaleTargetKind": "apps/v1.Deployment", "conditions": []}


def _validate(kind: str, group: str, name: str, obj: dict[str, Any]) -> None:
    """The validation the real server (or KEDA's webhook) does on the fields the tests touch."""
    spec = obj.get("spec", {})
    problems: list[tuple[str, Any, str]] = []
    if kind in ("Deployment", "Scale"):
        replicas = spec.get("replicas", 0)
        if not isinstance(replicas, int) or replicas < 0:
            problems.append(("spec.replicas", replicas, "must be greater than or equal to 0"))
    elif kind == "HorizontalPodAutoscaler":
        low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
        if not isinstance(low, int) or low < 1:
            problems.append(("spec.minReplicas", low, "must be greater than or equal to 1"))
        if not isinstance(high, int) or high < 1:
            problems.append(("spec.maxReplicas", high, "must be greater than 0"))
        elif isinstance(low, int) and high < low:
            problems.append(
                ("spec.maxReplicas", high, "must be greater than or equal to `minReplicas`")
            )
    elif kind == "ScaledObject":
        low, high = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
        for field, value in (("spec.minReplicaCount", low), ("spec.maxReplicaCount", high)):
            if not isinstance(value, int) or value < 0:
                problems.append((field, value, "must be greater than or equal to 0"))
        if not problems and low > high:
            problems.append(
                (
                    "spec.minReplicaCount",
                    low,
                    f"MinReplicaCount={low} must be less than MaxReplicaCount={high}",
                )
            )
    if problems:
        causes = [
            {"reason": "FieldValueInvalid", "message": f"Invalid value: {v}: {m}", "field": f}
            for f, v, m in problems
        ]
        detail = ", ".join(f"{f}: Invalid value: {v}: {m}" for f, v, m in problems)
        raise ApiError(
            422,
            "Invalid",
            f'{kind}.{group} "{name}" is invalid: {detail}',
            {"name": name, "group": group, "kind": kind, "causes": causes},
        )


def _fault(fault: _Fault) -> str:
    return {
        409: "Operation cannot be fulfilled: the object has been modified",
        429: "Too many requests, please try again later.",
        500: "Internal error occurred: injected by the test",
        503: "the server is currently unable to handle the request",
    }.get(fault.status, f"injected failure {fault.status}")
