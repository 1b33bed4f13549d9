"""charts/ballast rendered by the real Helm engine, and the schemas its objects must meet.

`helm template` when a `helm` binary is named by $HELM or found on PATH; otherwise Helm's own Go
SDK through the helm-python-sdk package (the same engine, loaded as a shared library), so no
binary download is needed. Built-in kinds are validated with kubernetes-validate's OpenAPI
schemas (strict: unknown fields fail), custom resources with the openAPIV3Schema of their CRD
vendored in tests/deploy/crds (see its README).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError, all_versions

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "ballast"
PRODUCTION_VALUES = CHART / "ci" / "production-values.yaml"
CRDS = Path(__file__).resolve().parent / "crds"
RELEASE = "ballast"
NAMESPACE = "ballast"
# The three newest Kubernetes minors kubernetes-validate ships schemas for (1.37.0 has 1.25-1.37).
KUBERNETES_VERSIONS = ("1.35.0", "1.36.0", "1.37.0")

# Every feature the values can switch off, switched off.
FEATURES_OFF: dict[str, Any] = {
    "keda": {"enabled": False},
    "metrics": {"serviceMonitor": {"enabled": False}, "prometheusRule": {"enabled": False}},
    "grafana": {"dashboard": {"enabled": False}},
    "networkPolicy": {"enabled": False},
    "ingress": {"enabled": False},
    "web": {"autoscaling": {"enabled": False}, "podDisruptionBudget": {"enabled": False}},
    "workers": {
        queue: {"podDisruptionBudget": {"enabled": False}, "autoscaling": {"enabled": False}}
        for queue in ("cpu", "gpu", "control", "actuation", "webhooks")
    },
    "serviceAccount": {"create": False, "name": "ballast-existing"},
    "rbac": {"create": False},
}


def production_values() -> dict[str, Any]:
    """charts/ballast/ci/production-values.yaml."""
    return yaml.safe_load(PRODUCTION_VALUES.read_text())


def helm_binary() -> str | None:
    """The helm binary named by $HELM or found on PATH, if any."""
    return os.environ.get("HELM") or shutil.which("helm")


class HelmRefused(Exception):
    """Helm refused to render or lint: bad values (values.schema.json) or a failing template."""


def render(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The objects the chart renders for a first install with `values` (hooks included)."""
    return [dict(obj) for obj in _render(json.dumps(values or {}, sort_keys=True))]


def render_as(values: dict[str, Any], *, release: str, namespace: str) -> str:
    """The chart rendered as YAML text for another release name and namespace."""
    return _helm_template(values, release, namespace)


def lint(values: dict[str, Any]) -> list[str]:
    """`helm lint --strict` of the chart with `values`: its warnings and errors."""
    binary = helm_binary()
    if binary:
        with _values_file(values) as path:
            result = subprocess.run(
                [binary, "lint", str(CHART), "--strict", "--namespace", NAMESPACE, "-f", path],
                capture_output=True,
                text=True,
            )
        return [] if result.returncode == 0 else [result.stdout + result.stderr]
    from helm_python.chart import lint as sdk_lint

    report = sdk_lint(CHART, values, strict=True, namespace=NAMESPACE)
    warnings = [str(m) for m in report["messages"] if m["severity"] >= 2]
    return warnings + [str(error) for error in report["errors"]]


@cache
def _render(values_json: str) -> tuple[dict[str, Any], ...]:
    text = _helm_template(json.loads(values_json), RELEASE, NAMESPACE)
    return tuple(obj for obj in yaml.safe_load_all(text) if isinstance(obj, dict))


@contextmanager
def _values_file(values: dict[str, Any]) -> Iterator[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as file:
        json.dump(values, file)
        file.flush()
        yield file.name


def _helm_template(values: dict[str, Any], release: str, namespace: str) -> str:
    binary = helm_binary()
    if binary:
        with _values_file(values) as path:
            command = [binary, "template", release, str(CHART), "--namespace", namespace]
            command += ["--kube-version", KUBERNETES_VERSIONS[-1], "-f", path]
            result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode:
            raise HelmRefused(result.stderr)
        return result.stdout
    from helm_python import HelmError
    from helm_python.chart import Chart

    with Chart.load(CHART) as chart:
        try:
            rendered = chart.render(values, name=release, namespace=namespace, is_install=True)
        except HelmError as error:
            raise HelmRefused(str(error)) from error
    return "\n---\n".join(rendered[name] for name in sorted(rendered) if name.endswith(".yaml"))


def objects(rendered: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The rendered objects of one kind."""
    return [obj for obj in rendered if obj["kind"] == kind]


def one(rendered: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The one rendered object of `kind` named `name`."""
    found = [obj for obj in objects(rendered, kind) if obj["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Deployment or Job."""
    return workload["spec"]["template"]["spec"]


def containers(rendered: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """("Deployment/ballast-web", container) for every container of every workload."""
    return [
        (f"{obj['kind']}/{obj['metadata']['name']}", container)
        for obj in rendered
        if obj["kind"] in {"Deployment", "Job"}
        for container in pod_spec(obj).get("initContainers", []) + pod_spec(obj)["containers"]
    ]


# --- schemas ---------------------------------------------------------------------------------


def _strict(schema: Any) -> Any:
    """A CRD schema that refuses unknown fields, as the API server's strict field validation does.

    An object with properties and neither additionalProperties nor
    x-kubernetes-preserve-unknown-fields gets additionalProperties: false.
    """
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    strict = {key: _strict(value) for key, value in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        strict["additionalProperties"] = False
    return strict


@cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> the vendored openAPIV3Schema of that custom resource, made strict."""
    schemas = {}
    for path in sorted(CRDS.glob("*.json")):
        crd = json.loads(path.read_text())
        api_version = f"{crd['group']}/{crd['version']}"
        schemas[(api_version, crd["kind"])] = _strict(crd["openAPIV3Schema"])
    return schemas


def validation_errors(obj: dict[str, Any], version: str) -> list[str]:
    """Why `obj` is not a valid object of Kubernetes `version` (empty when it is)."""
    assert version in all_versions(), f"kubernetes-validate has no schemas for {version}"
    name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    crd = crd_schemas().get((obj.get("apiVersion"), obj.get("kind")))
    if crd is not None:
        validator = jsonschema.Draft7Validator(crd)
        errors = [
            f"{name}: {'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(obj)
        ]
        # A CRD's schema says only `metadata: object`: check it as the ObjectMeta it is.
        meta = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj["metadata"]}
        return errors + [f"{name} metadata: {e}" for e in validation_errors(meta, version)]
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except ValidationError as error:
        return [f"{name}: {'/'.join(map(str, error.absolute_path))}: {error.message}"]
    except SchemaNotFoundError as error:
        return [f"{name}: {error.message}"]
    return []


RENDERINGS: dict[str, Any] = {
    "default": {},
    "production": None,  # ci/production-values.yaml
    "features-off": FEATURES_OFF,
}


def write_renderings(folder: Path, names: list[str]) -> list[Path]:
    """Write the named renderings as folder/<name>.yaml (for checkov); their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        values = RENDERINGS[name]
        rendered = render(production_values() if values is None else values)
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump_all(rendered, sort_keys=False))
        paths.append(path)
    return paths


if __name__ == "__main__":
    import sys

    for written in write_renderings(Path(sys.argv[1]), sys.argv[2:] or list(RENDERINGS)):
        print(written)
