"""Who may read and write what: every team-scoped check goes through these functions."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from apps.accounts.models import CI_DELEGATED, FINOPS_GROUP, Role, Team, TokenScope

WRITE_ROLES = (Role.SRE, Role.CI)


def is_finops(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Organisation-wide FinOps staff (and superusers) read everything and edit the catalog."""
    if not user.is_authenticated:
        return False
    return user.is_superuser or user.groups.filter(name=FINOPS_GROUP).exists()


def reads_all_teams(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether the user sees every team's data."""
    return is_finops(user)


def readable_team_ids(user: AbstractBaseUser) -> list[int]:
    """Ids of the teams whose data the user may read (any role)."""
    return list(Team.objects.filter(memberships__user=user).values_list("pk", flat=True).distinct())


def can_write_team(user: AbstractBaseUser | AnonymousUser, team: Team) -> bool:
    """Workloads, variants, targets and metrics of a team are written by its sre and ci members."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return team.memberships.filter(user=user, role__in=WRITE_ROLES).exists()


def holds_role(user: AbstractBaseUser | AnonymousUser, team: Team, role: str) -> bool:
    """Whether the user holds exactly `role` in `team` (superusers hold no team role)."""
    if not user.is_authenticated:
        return False
    return team.memberships.filter(user=user, role=role).exists()


def granted_scopes(credential: object) -> frozenset[str] | None:
    """The scopes the API token a request came with is limited to; None when it is not limited.

    Sessions and tokens without a grant are limited by the user's role alone.
    """
    from knox.models import AuthToken  # knox's models need the app registry

    if not isinstance(credential, AuthToken):
        return None
    grant = getattr(credential, "grant", None)  # the missing row raises an AttributeError subclass
    return frozenset(grant.scopes) if grant else None


def token_refusal(credential: object, scope: str | None) -> str | None:
    """Why the token `credential` may not take a write needing `scope`; None when it may.

    `scope` None is a write the registry (`apps.accounts.scopes`) names no scope for: closed to
    every token that holds scopes.
    """
    scopes = granted_scopes(credential)
    if scopes is None or (scope is not None and scope in scopes):
        return None
    held = ", ".join(sorted(scopes)) or "none: read-only"
    if scope is None:
        return f"no token scope covers this write, so a token limited to scopes ({held}) cannot"
    return f"this token lacks the {scope} scope ({TokenScope(scope).label}); it holds: {held}"


# Deleting a range of a workload's observations: the team's SREs, or a CI token given this scope.
DELETE_OBSERVATIONS = TokenScope.DELETE_OBSERVATIONS


def authorize(
    user: AbstractBaseUser | AnonymousUser, credential: object, team: Team, action: str
) -> str | None:
    """Why `user`, through `credential`, may not take `action` in `team`; None when they may.

    `action` is a `TokenScope` of `CI_DELEGATED` (approve, apply, delete observations): a
    token limited to scopes must hold it; then the team's SREs may take it, its CI identities
    only through a token an operator gave that scope, nobody else.
    """
    refusal = token_refusal(credential, action)
    if refusal:
        return refusal
    if holds_role(user, team, Role.SRE):
        return None
    if holds_role(user, team, Role.CI):
        if action in CI_DELEGATED and action in (granted_scopes(credential) or ()):
            return None
        return f"this CI credential was not given the {action} scope"
    return f"{action} ({TokenScope(action).label}) needs the sre role in team {team}"
