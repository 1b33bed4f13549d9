"""Who may read and write what: every team-scoped check goes through these functions."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from apps.accounts.models import FINOPS_GROUP, Role, Team, TokenScope

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


def token_scopes(auth: object) -> frozenset[str]:
    """The scopes given to the API token a request came with; none for sessions."""
    from knox.models import AuthToken  # knox's models need the app registry

    if not isinstance(auth, AuthToken):
        return frozenset()
    grant = getattr(auth, "grant", None)  # the missing row raises an AttributeError subclass
    return frozenset(grant.scopes) if grant else frozenset()


# Deleting a range of a workload's observations: the team's SREs, or a CI token given this scope.
DELETE_OBSERVATIONS = TokenScope.DELETE_OBSERVATIONS
# What each scoped action is, for the refusal.
ACTIONS = {
    TokenScope.APPROVE_PLANS: "deciding on plans",
    TokenScope.APPLY_PLANS: "applying plans",
    DELETE_OBSERVATIONS: "deleting observations",
}


def authorize(
    user: AbstractBaseUser | AnonymousUser, credential: object, team: Team, action: str
) -> str | None:
    """Why `user`, through `credential`, may not take `action` in `team`; None when they may.

    `action` is a `TokenScope`: the team's SREs may take it; its CI identities only through an
    API token that was given that scope; nobody else.
    """
    if holds_role(user, team, Role.SRE):
        return None
    if holds_role(user, team, Role.CI):
        if action in token_scopes(credential):
            return None
        return f"this CI credential was not given the {action} scope"
    return f"{ACTIONS[action]} needs the sre role in team {team}"
