"""Connections that act as a team's own identity: an assumed IAM role, a kube context or SA.

An operator grants each team an identity by reference (`TeamCredentials`); Ballast stores no
secret. AWS: the process's own credentials (boto3's chain) call `sts:AssumeRole` on the team's
role, with its external id, under the session name `ballast-<team>-plan-<id>` (or
`ballast-<team>` outside a plan), so CloudTrail names Ballast, the team and the plan; the
temporary credentials are reused until `REFRESH_MARGIN` before they expire. Kubernetes: a
context of the operator's kubeconfig, or Ballast's own connection sending `Impersonate-User:
system:serviceaccount:<namespace>:<name>` (RBAC lets Ballast's ServiceAccount impersonate exactly
the teams' ServiceAccounts, and each of those is bound to its team's namespaces).

A team without a grant for a platform gets the process's own identity only when the operator
set `BALLAST_ACTUATOR_DEFAULT_IDENTITY=true`; otherwise it gets no connection (`None`).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings

from actuators.base import PermanentError, TransientError

# Longer than any task's hard time limit (660 s), so credentials never expire mid-apply.
REFRESH_MARGIN = timedelta(minutes=15)
ROLE_SESSION_S = 3600  # the least every role allows (a role's MaxSessionDuration is >= 1 h)
MAX_SESSION_NAME_CHARS = 64  # sts:AssumeRole's RoleSessionName limit

_sessions: dict[tuple[str, str, str], tuple[datetime, Any]] = {}
_sessions_lock = threading.Lock()


def session_name(team_slug: str, plan_id: int | None) -> str:
    """'ballast-ml-platform-plan-42': who acts, for which team and plan, as AWS records it."""
    suffix = f"-plan-{plan_id}" if plan_id is not None else ""
    return f"ballast-{team_slug}"[: MAX_SESSION_NAME_CHARS - len(suffix)] + suffix


def aws_client(service: str, credentials: Any, *, team_slug: str, plan_id: int | None):
    """A boto3 client for `service` as the team's role, the process default, or None."""
    if credentials is not None and credentials.aws_role_arn:
        name = session_name(team_slug, plan_id)
        session = _assumed_session(credentials.aws_role_arn, credentials.aws_external_id, name)
        return session.client(
            service, region_name=settings.AWS_REGION, endpoint_url=settings.AWS_ENDPOINT_URL or None
        )
    return _default_aws_client(service) if settings.ACTUATOR_DEFAULT_IDENTITY else None


def kube_client(credentials: Any):
    """A Kubernetes API client as the team's context or ServiceAccount, the default, or None."""
    if credentials is not None and credentials.kube_context:
        if settings.KUBE_MODE != "kubeconfig":
            raise PermanentError(
                f"the team's Kubernetes context {credentials.kube_context!r} needs "
                f"BALLAST_KUBE_MODE=kubeconfig (it is {settings.KUBE_MODE!r})"
            )
        return _kube_api(credentials.kube_context, "")
    if credentials is not None and credentials.kube_service_account:
        return _kube_api(settings.KUBE_CONTEXT or "", credentials.kube_service_account)
    return (
        _kube_api(settings.KUBE_CONTEXT or "", "") if settings.ACTUATOR_DEFAULT_IDENTITY else None
    )


def forget_connections() -> None:
    """Drop cached clients and assumed-role credentials (tests that change settings call this)."""
    _kube_api.cache_clear()
    _default_aws_client.cache_clear()
    with _sessions_lock:
        _sessions.clear()


@cache
def _kube_api(context: str, service_account: str):
    from actuators.kubernetes import load_api_client

    api = load_api_client(
        settings.KUBE_MODE, kubeconfig=settings.KUBECONFIG or None, context=context or None
    )
    if service_account:
        namespace, _, name = service_account.partition("/")
        api.set_default_header("Impersonate-User", f"system:serviceaccount:{namespace}:{name}")
    return api


@cache
def _default_aws_client(service: str):
    import boto3

    return boto3.client(
        service, region_name=settings.AWS_REGION, endpoint_url=settings.AWS_ENDPOINT_URL or None
    )


def _assumed_session(role_arn: str, external_id: str, name: str):
    """A boto3 session holding the role's temporary credentials, assumed again near expiry."""
    key, now = (role_arn, external_id, name), datetime.now(UTC)
    with _sessions_lock:
        for stale in [
            k for k, (expires, _) in _sessions.items() if expires - REFRESH_MARGIN <= now
        ]:
            del _sessions[stale]
        if key in _sessions:
            return _sessions[key][1]
    session, expires = _assume_role(role_arn, external_id, name)
    with _sessions_lock:
        _sessions[key] = (expires, session)
    return session


def _assume_role(role_arn: str, external_id: str, name: str):
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    sts = _default_aws_client("sts")
    options = {"ExternalId": external_id} if external_id else {}
    try:
        answer = sts.assume_role(
            RoleArn=role_arn, RoleSessionName=name, DurationSeconds=ROLE_SESSION_S, **options
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        message = f"cannot assume {role_arn}: {error.get('Code')}: {error.get('Message')}"
        raise (TransientError if status == 429 or status >= 500 else PermanentError)(
            message
        ) from exc
    except BotoCoreError as exc:
        raise TransientError(f"cannot assume {role_arn}: no answer from STS ({exc})") from exc
    granted = answer["Credentials"]
    session = boto3.Session(
        aws_access_key_id=granted["AccessKeyId"],
        aws_secret_access_key=granted["SecretAccessKey"],
        aws_session_token=granted["SessionToken"],
        region_name=settings.AWS_REGION,
    )
    return session, granted["Expiration"]
