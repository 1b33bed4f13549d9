"""API tokens: created with scopes and a lifetime, listed and revoked by their owner."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from knox.models import AuthToken

from apps.accounts import roles
from apps.accounts.models import FINOPS_GROUP, TokenGrant
from apps.accounts.scopes import ROLE_SCOPES


class TokenRefused(Exception):
    """A token that may not be made; the message names the field."""


class ScopesRefused(TokenRefused):
    """Scopes the caller may not give: more than their roles or the token they came with."""


def role_scopes(user) -> frozenset[str]:
    """Every scope the user's roles can use (superusers: all)."""
    if user.is_superuser:
        return frozenset().union(*ROLE_SCOPES.values())
    held = set(user.memberships.values_list("role", flat=True))
    if roles.is_finops(user):
        held.add(FINOPS_GROUP)
    return frozenset().union(*(ROLE_SCOPES[role] for role in held))


@transaction.atomic
def create_token(*, user, scopes: list[str] | None, days: int | None) -> tuple[AuthToken, str]:
    """A token for `user`, limited to `scopes` (None: unrestricted), living `days` (None: TTL).

    Returns the row and the token, which is shown once; only its hash is stored.
    """
    if days is not None and days <= 0:
        raise TokenRefused(f"days: must be > 0, got {days}")
    if days is None:
        instance, token = AuthToken.objects.create(user)  # knox's TOKEN_TTL
    else:
        instance, token = AuthToken.objects.create(user, expiry=timedelta(days=days))
    if scopes is not None:
        TokenGrant.objects.create(token=instance, scopes=sorted(set(scopes)))
    return instance, token


def create_own_token(*, user, credential, scopes: list[str], days: int | None):
    """A user's token for themselves, never more than their roles and the token they came with.

    The CI delegations (plans:approve, plans:apply, metrics:delete) are not in any role's
    scopes: only an operator gives them (`manage.py create_api_token`). The lifetime is at most
    `BALLAST_TOKEN_TTL_DAYS` (any when that is 0).
    """
    beyond = sorted(set(scopes) - role_scopes(user))
    if beyond:
        raise ScopesRefused(
            f"scopes: {', '.join(beyond)} not given by your roles (an operator gives CI "
            "delegations with manage.py create_api_token)"
        )
    limit = roles.granted_scopes(credential)
    if limit is not None and not set(scopes) <= limit:
        extra = ", ".join(sorted(set(scopes) - limit))
        raise ScopesRefused(f"scopes: {extra} beyond the token this request came with")
    ttl = settings.TOKEN_TTL_DAYS
    if ttl and days is not None and days > ttl:
        raise TokenRefused(f"days: at most {ttl} (BALLAST_TOKEN_TTL_DAYS), got {days}")
    return create_token(user=user, scopes=scopes, days=days)


def own_tokens(user):
    """The user's tokens that have not expired, newest first, with their grants."""
    live = Q(expiry__isnull=True) | Q(expiry__gt=timezone.now())
    return AuthToken.objects.filter(live, user=user).select_related("grant").order_by("-created")


def revoke_own_token(*, user, token_id: str) -> bool:
    """Delete the user's token named by its id (knox's token_key); whether one was deleted."""
    deleted, _ = AuthToken.objects.filter(user=user, token_key=token_id).delete()
    return bool(deleted)
