"""Which actuator drives a deployment target, with credentials from configuration only.

Kubernetes targets use `BALLAST_KUBE_MODE` (`in-cluster`, or `kubeconfig` with
`BALLAST_KUBECONFIG` and `BALLAST_KUBE_CONTEXT`); AWS targets use boto3's standard credential
chain (environment, profile, instance role) once `BALLAST_AWS_ENABLED` is true, in
`BALLAST_AWS_REGION`, optionally through `BALLAST_AWS_ENDPOINT_URL`. Nothing is read from the
database but the target's kind, reference and dry-run flag.

A dry-run target with no connection configured gets the recording `DryRunActuator`, whose
"observed" state is what earlier dry runs recorded; with a connection it gets the real actuator
in its own dry-run mode (validated by the API where the API can, never persisted). A live target
without a connection is refused.
"""

import importlib
from functools import cache

from django.conf import settings
from django.db.models import Max

from actuators.base import PermanentError
from actuators.dryrun import DryRunActuator
from actuators.targets import TARGET_KIND
from apps.actuation.models import ApplyStep
from apps.workloads.models import DeploymentTarget


def target_name(target: DeploymentTarget) -> str:
    """'k8s_deployment:ml/ranker'."""
    return f"{target.kind}:{target.reference}"


def actuator_for(target: DeploymentTarget):
    """The actuator for `target` (see the module docstring).

    Raises:
        PermanentError: a live target whose kind has no connection configured.
    """
    connection = _connection(target.kind)
    if connection is None:
        if target.dry_run:
            return DryRunActuator(target_name(target), state=recorded_state(target))
        raise PermanentError(
            f"{target_name(target)} is live (dry_run false) but no {_family(target.kind)} "
            "connection is configured; set it up or make the target dry_run"
        )
    return _real_actuator(target, connection)


def recorded_state(target: DeploymentTarget) -> dict[str, int]:
    """What the last applied step of each setting set on a target.

    Steps on one target never run at once (applies hold the plan, the controller its
    workload's row), so the newest row of a setting is the one applied last; only those are
    read, however long the controller's history of steps grows.
    """
    applied = ApplyStep.objects.filter(target=target, status=ApplyStep.Status.APPLIED)
    newest = applied.values("setting").annotate(last=Max("pk")).values("last")
    return dict(ApplyStep.objects.filter(pk__in=newest).values_list("setting", "after"))


def _family(kind: str) -> str:
    return "Kubernetes" if TARGET_KIND[kind].platform == "kubernetes" else "AWS"


def _connection(kind: str):
    if kind not in TARGET_KIND:
        raise PermanentError(f"no actuator for target kind {kind!r}")
    if TARGET_KIND[kind].platform == "kubernetes":
        return _kube_client() if settings.KUBE_MODE else None
    return _aws_client(TARGET_KIND[kind].aws_service) if settings.AWS_ENABLED else None


@cache
def _kube_client():
    from actuators.kubernetes import load_api_client

    return load_api_client(
        settings.KUBE_MODE, kubeconfig=settings.KUBECONFIG or None, context=settings.KUBE_CONTEXT
    )


@cache
def _aws_client(service: str):
    import boto3

    return boto3.client(
        service,
        region_name=settings.AWS_REGION,
        endpoint_url=settings.AWS_ENDPOINT_URL or None,
    )


def _real_actuator(target: DeploymentTarget, connection):
    kind = TARGET_KIND[target.kind]
    module, name = kind.actuator.split(":")
    actuator = getattr(importlib.import_module(f"actuators.{module}"), name)
    options = {"capacity_type": target.pool} if kind.pins_pool else {}
    return actuator(connection, target.reference, dry_run=target.dry_run, **options)


def reset_connections() -> None:
    """Forget cached clients (tests that change the configuration call this)."""
    _kube_client.cache_clear()
    _aws_client.cache_clear()
