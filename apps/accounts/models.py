"""Teams and the roles their members hold.

Roles are scoped by team: an `sre` edits the team's workloads (and will approve its plans); a `ci`
member, usually a token's machine user, writes the team's workloads and metrics; a `viewer` reads.
FinOps is organisation-wide: members of the Django group `finops` read everything and edit the
pricing catalog.
"""

from django.conf import settings
from django.db import models

FINOPS_GROUP = "finops"


class Team(models.Model):
    """A group of people and machines who own workloads."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=128)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Role(models.TextChoices):
    """What a member may do within one team."""

    SRE = "sre"
    CI = "ci"
    VIEWER = "viewer"


class TeamMembership(models.Model):
    """A user's role in one team."""

    team = models.ForeignKey(Team, models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role)

    class Meta:
        ordering = ["team", "user"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user", "role"], name="membership_unique_role"),
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} in {self.team}"


class TokenScope(models.TextChoices):
    """Extra powers a machine token holds beyond its user's role; none unless given."""

    APPROVE_PLANS = "plans:approve", "approve and reject plans"
    APPLY_PLANS = "plans:apply", "start the apply of approved plans"


class TokenGrant(models.Model):
    """The scopes explicitly given to one API token (knox stores the token itself, hashed)."""

    token = models.OneToOneField(
        "knox.AuthToken", models.CASCADE, primary_key=True, related_name="grant"
    )
    scopes = models.JSONField(default=list, help_text="TokenScope values")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.token_id}: {', '.join(self.scopes) or 'no scopes'}"


class TeamOwnedQuerySet(models.QuerySet):
    """Rows with a `team`, read as their team's members (and FinOps) may read them."""

    def visible_to(self, user):
        """Every row for FinOps and superusers; otherwise those of the user's teams."""
        from apps.accounts import roles  # roles imports this module

        if not user.is_authenticated:
            return self.none()
        if roles.reads_all_teams(user):
            return self
        return self.filter(team_id__in=roles.readable_team_ids(user))
