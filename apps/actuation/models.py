"""What an apply did to each target: the state before it, and every step under its key."""

from django.db import models


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
