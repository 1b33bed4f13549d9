"""What an apply did to each target: the state before it, and every step under its key."""

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q


class RecordedState(models.Model):
    """A target's observed state before a plan's first step: what a rollback returns to."""

    plan = models.ForeignKey("plans.ScalingPlan", models.CASCADE, related_name="recorded_states")
    target = models.ForeignKey(
        "workloads.DeploymentTarget", models.CASCADE, related_name="recorded_states"
    )
    state = models.JSONField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "target"], name="recorded_state_once")
        ]

    def __str__(self) -> str:
        return f"plan {self.plan_id} target {self.target_id}: {self.state}"


class ApplyStep(models.Model):
    """One setting of one target set by an apply, a rollback or the controller, under a key."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPLIED = "applied"
        FAILED = "failed"

    class Purpose(models.TextChoices):
        APPLY = "apply"
        ROLLBACK = "rollback"
        CONTROL = "control"  # the live controller converging a target; no plan

    plan = models.ForeignKey(
        "plans.ScalingPlan", models.CASCADE, null=True, blank=True, related_name="apply_steps"
    )
    target = models.ForeignKey(
        "workloads.DeploymentTarget", models.CASCADE, related_name="apply_steps"
    )
    purpose = models.CharField(max_length=8, choices=Purpose, default=Purpose.APPLY)
    setting = models.CharField(max_length=48)
    before = models.BigIntegerField(null=True, blank=True)
    after = models.BigIntegerField()
    key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=8, choices=Status, default=Status.PENDING)
    dry_run = models.BooleanField()
    verified = models.BooleanField(default=False)
    detail = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "pk"]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"


ROLE_ARN = RegexValidator(
    r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$",
    "an IAM role ARN, arn:aws:iam::123456789012:role/name",
)
EXTERNAL_ID = RegexValidator(r"^[\w+=,.@:/-]{2,1224}$", "2-1224 of letters, digits and +=,.@:/-")
SERVICE_ACCOUNT = RegexValidator(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$",
    "namespace/name of a Kubernetes ServiceAccount",
)


class TeamCredentials(models.Model):
    """The identity a team's actuators act as, named by reference and granted by an operator.

    Nothing secret is stored: an IAM role Ballast assumes through STS (its external id is a
    confused-deputy guard, not a secret), and either a context of the operator's kubeconfig or a
    ServiceAccount Ballast impersonates. What each grants is set where it lives (the role's
    policy, the cluster's RBAC).
    """

    team = models.OneToOneField(
        "accounts.Team", models.CASCADE, primary_key=True, related_name="actuator_credentials"
    )
    aws_role_arn = models.CharField(
        max_length=2048,
        blank=True,
        validators=[ROLE_ARN],
        help_text="IAM role assumed (sts:AssumeRole) for this team's AWS targets",
    )
    aws_external_id = models.CharField(
        max_length=1224,
        blank=True,
        validators=[EXTERNAL_ID],
        help_text="ExternalId the role's trust policy requires, if any",
    )
    kube_context = models.CharField(
        max_length=253,
        blank=True,
        help_text="context of BALLAST_KUBECONFIG for this team's Kubernetes targets "
        "(BALLAST_KUBE_MODE=kubeconfig)",
    )
    kube_service_account = models.CharField(
        max_length=317,
        blank=True,
        validators=[SERVICE_ACCOUNT],
        help_text="namespace/name of a ServiceAccount impersonated (Impersonate-User) for this "
        "team's Kubernetes targets, over Ballast's own connection",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "team credentials"
        constraints = [
            models.CheckConstraint(
                condition=Q(kube_context="") | Q(kube_service_account=""),
                name="team_credentials_one_kube_identity",
                violation_error_message="name a kubeconfig context or a ServiceAccount, not both",
            ),
            models.CheckConstraint(
                condition=Q(aws_external_id="") | ~Q(aws_role_arn=""),
                name="team_credentials_external_id_needs_role",
                violation_error_message="an external id goes with a role ARN",
            ),
        ]

    def __str__(self) -> str:
        return f"credentials of {self.team_id}"
