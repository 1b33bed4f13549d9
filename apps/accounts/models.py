"""Teams and the roles their members hold.

Roles are scoped by team: an `sre` edits the team's workloads (and will approve its plans); a `ci`
member, usually a token's machine user, writes the team's workloads and metrics; a `viewer` reads.
FinOps is organisation-wide: members of the Django group `finops` read everything and edit the
pricing catalog.
"""

from fnmatch import fnmatchcase

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

FINOPS_GROUP = "finops"

TOKEN_ENV_NAME = RegexValidator(
    r"^BALLAST_PROM_[A-Z0-9_]+$",
    "name an environment variable starting with BALLAST_PROM_, e.g. BALLAST_PROM_TOKEN "
    "(only such variables may be sent to a Prometheus server)",
)


def validate_token_envs(names) -> None:
    """A list of distinct `BALLAST_PROM_*` variable names."""
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValidationError("give a list of environment variable names")
    for name in names:
        if not TOKEN_ENV_NAME.regex.match(name):  # own code: "invalid" reads "not valid JSON"
            raise ValidationError(f"{name!r}: {TOKEN_ENV_NAME.message}", code="token_env")
    if len(set(names)) != len(names):
        raise ValidationError("a variable is listed twice")


def validate_reference_patterns(patterns) -> None:
    """A list of distinct, non-empty shell-style patterns (`fnmatch`), e.g. "inference/*"."""
    if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
        raise ValidationError('give a list of non-empty patterns, e.g. ["inference/*"]')
    if len(set(patterns)) != len(patterns):
        raise ValidationError("a pattern is listed twice")


class Team(models.Model):
    """A group of people and machines who own workloads."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=128)
    prometheus_token_envs = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_token_envs],
        help_text="BALLAST_PROM_* environment variables whose bearer tokens this team's metric "
        "sources may send; granted by operators here, never by the team, so that no team can "
        "send another team's token to a server of its choosing",
    )

    target_references = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_reference_patterns],
        help_text="patterns (fnmatch) of the deployment-target references this team's targets "
        'may name: Kubernetes namespace/name ("inference/*") and AWS names or ARNs '
        '("arn:aws:autoscaling:us-east-1:123456789012:*"); granted by operators here, never by '
        "the team; none granted, no target may be registered",
    )

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def target_reference_refusal(self, reference: str) -> str | None:
        """Why this team's targets may not name `reference`; None if a granted pattern matches."""
        if any(fnmatchcase(reference, pattern) for pattern in self.target_references):
            return None
        return (
            f"{reference!r} is not granted to team {self.slug}: an operator grants references "
            "in the admin (team -> target references), so that no team scales another's objects"
        )

    def token_env_refusal(self, token_env: str) -> str | None:
        """Why this team may not send the token held in `token_env`; None if it was granted."""
        if token_env in self.prometheus_token_envs:
            return None
        return (
            f"{token_env} is not granted to team {self.slug}: an operator grants variables in "
            "the admin (team -> prometheus token envs), so that no team sends another's token"
        )


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
    """What an API token may write; `apps.accounts.scopes` maps every write route to one.

    A token holding scopes may take only those writes (reads are open to every token), and never
    more than its user's role allows, except that a CI identity gets plans:approve, plans:apply
    and metrics:delete only through a token an operator gave them (`CI_DELEGATED`).
    """

    WORKLOADS_WRITE = "workloads:write", "create, change and delete workloads, SLAs and variants"
    TARGETS_WRITE = "targets:write", "register, change and remove deployment targets"
    METRICS_WRITE = "metrics:write", "post metrics, import traces, set up and pull metric sources"
    DELETE_OBSERVATIONS = "metrics:delete", "delete a range of a workload's observations"
    FORECASTS_RUN = "forecasts:run", "queue forecast runs"
    PLANS_REQUEST = "plans:request", "request plans and optimization runs, set plan schedules"
    PLANS_CHOOSE = "plans:choose", "pick another candidate of a plan"
    APPROVE_PLANS = "plans:approve", "approve and reject plans"
    APPLY_PLANS = "plans:apply", "start the apply or rollback of plans"
    GUARDRAILS_WRITE = "guardrails:write", "set guardrails and propose changes to them"
    GUARDRAILS_APPROVE = "guardrails:approve", "approve and reject others' guardrail changes"
    WEBHOOKS_WRITE = "webhooks:write", "create, change, delete webhooks and rotate their secrets"
    CATALOG_WRITE = "catalog:write", "change the pricing catalog (FinOps)"


# Beyond the CI role: a CI identity holds these only through a token an operator gave them.
CI_DELEGATED = frozenset(
    {TokenScope.APPROVE_PLANS, TokenScope.APPLY_PLANS, TokenScope.DELETE_OBSERVATIONS}
)


class TokenGrant(models.Model):
    """The scopes one API token is limited to (knox stores the token itself, hashed).

    A token without a grant is unrestricted: it may do what its user's role allows (and no
    CI delegation). A grant with no scopes makes a read-only token.
    """

    token = models.OneToOneField(
        "knox.AuthToken", models.CASCADE, primary_key=True, related_name="grant"
    )
    scopes = models.JSONField(default=list, help_text="TokenScope values")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.token_id}: {', '.join(self.scopes) or 'read-only'}"


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
