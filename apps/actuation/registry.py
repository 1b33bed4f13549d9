"""Which actuator drives a deployment target, acting as its team's own identity.

Kubernetes targets use `BALLAST_KUBE_MODE` (`in-cluster`, or `kubeconfig` with
`BALLAST_KUBECONFIG` and `BALLAST_KUBE_CONTEXT`); AWS targets are reachable once
`BALLAST_AWS_ENABLED` is true, in `BALLAST_AWS_REGION`, optionally through
`BALLAST_AWS_ENDPOINT_URL`. Through that connection each team acts as the identity an operator
granted it (`TeamCredentials`, `apps.actuation.identity`): an assumed IAM role, a kubeconfig
context, an impersonated ServiceAccount. Nothing is read from the database but the target's
kind, reference and dry-run flag and those names.

A dry-run target with no connection for its team gets the recording `DryRunActuator`, whose
"observed" state is what earlier dry runs recorded; with a connection it gets the real actuator
in its own dry-run mode (validated by the API where the API can, never persisted). A live target
without a connection is refused, naming what is missing.
"""

import importlib

from django.conf import settings
from django.db.models import Max

from actuators.base import PermanentError
from actuators.dryrun import DryRunActuator
from actuators.targets import TARGET_KIND
from apps.actuation import identity
from apps.actuation.models import ApplyStep, TeamCredentials
from apps.workloads.models import DeploymentTarget


def target_name(target: DeploymentTarget) -> str:
    """'k8s_deployment:ml/ranker'."""
    return f"{target.kind}:{target.reference}"


def actuator_for(target: DeploymentTarget, *, plan_id: int | None = None):
    """The actuator for `target`, as its team (see the module docstring).

    `plan_id` names the plan in the AWS role session, so CloudTrail shows which plan acted.

    Raises:
        PermanentError: a live target with no connection for its team, or a role that cannot
            be assumed.
        TransientError: STS did not answer.
    """
    connection, missing = _connection(target, plan_id)
    if connection is None:
        if target.dry_run:
            return DryRunActuator(target_name(target), state=recorded_state(target))
        raise PermanentError(f"{target_name(target)} is live (dry_run false) but {missing}")
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


def connection_gap(target: DeploymentTarget) -> str | None:
    """What `actuator_for` would miss to reach `target`'s system, or None when it has a way.

    Read from the settings and the team's credentials alone (no call to STS or a cluster), for
    pages that say beforehand whether an apply reaches the system or is refused.
    """
    kind = TARGET_KIND.get(target.kind)
    if kind is None:
        return f"no actuator for target kind {target.kind!r}"
    family = _family(target.kind)
    if not (settings.KUBE_MODE if kind.platform == "kubernetes" else settings.AWS_ENABLED):
        return f"no {family} connection is configured"
    credentials = TeamCredentials.objects.filter(team=target.workload.team).first()
    own = credentials is not None and (
        (credentials.kube_context or credentials.kube_service_account)
        if kind.platform == "kubernetes"
        else credentials.aws_role_arn
    )
    if not own and not settings.ACTUATOR_DEFAULT_IDENTITY:
        return f"team {target.workload.team.slug} has no {family} identity granted"
    return None


def _family(kind: str) -> str:
    return "Kubernetes" if TARGET_KIND[kind].platform == "kubernetes" else "AWS"


def _connection(target: DeploymentTarget, plan_id: int | None):
    """(client, None), or (None, what is missing) when the team has no connection."""
    if target.kind not in TARGET_KIND:
        raise PermanentError(f"no actuator for target kind {target.kind!r}")
    kind, family = TARGET_KIND[target.kind], _family(target.kind)
    if not (settings.KUBE_MODE if kind.platform == "kubernetes" else settings.AWS_ENABLED):
        return None, f"no {family} connection is configured; set it up or make the target dry_run"
    team = target.workload.team
    credentials = TeamCredentials.objects.filter(team=team).first()
    if kind.platform == "kubernetes":
        client = identity.kube_client(credentials)
    else:
        client = identity.aws_client(
            kind.aws_service, credentials, team_slug=team.slug, plan_id=plan_id
        )
    if client is None:
        return None, (
            f"team {team.slug} has no {family} identity granted: an operator names one in its "
            "Team credentials (admin), or allows the process's own with "
            "BALLAST_ACTUATOR_DEFAULT_IDENTITY=true"
        )
    return client, None


def _real_actuator(target: DeploymentTarget, connection):
    kind = TARGET_KIND[target.kind]
    module, name = kind.actuator.split(":")
    actuator = getattr(importlib.import_module(f"actuators.{module}"), name)
    options = {"capacity_type": target.pool} if kind.pins_pool else {}
    return actuator(connection, target.reference, dry_run=target.dry_run, **options)


def reset_connections() -> None:
    """Forget cached clients and credentials (tests that change the configuration call this)."""
    identity.forget_connections()
