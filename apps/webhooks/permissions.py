"""Who may manage a team's webhooks: its SREs (and superusers). Team members and FinOps read."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from apps.accounts.models import Role


def is_team_sre(user, team) -> bool:
    """Webhooks send a team's plans to outside endpoints: only its SREs may point them."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return team.memberships.filter(user=user, role=Role.SRE).exists()


class IsTeamSREOrReadOnly(BasePermission):
    """Reads pass (querysets hide other teams' rows); changes need the sre role in the team."""

    message = "you need the sre role in this webhook's team to change it"

    def has_object_permission(self, request, view, obj) -> bool:
        """Reads pass; writes and actions need the SRE role in the webhook's team."""
        if request.method in SAFE_METHODS:
            return True
        return is_team_sre(request.user, obj.team)
