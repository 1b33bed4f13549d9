"""The live controller of each online workload: its clock, learned state and decisions."""

from django.db import models
from django.db.models import Q

from apps.workloads.models import WorkloadChildQuerySet


class Controller(models.Model):
    """One workload's live controller: which policy, where its steps start, what it learned.

    Step t covers [origin_at + t * step_s, origin_at + (t + 1) * step_s); `last_step` is the
    newest step decided. `policy_state` and `feed_state` are the policy's and its forecast
    feed's state as plain data, saved after every step, so a restart continues where it was.
    """

    workload = models.OneToOneField("workloads.Workload", models.CASCADE, related_name="controller")
    enabled = models.BooleanField(default=True)
    policy = models.CharField(max_length=32, default="ballast_controller")
    series = models.CharField(max_length=64, default="requests")
    step_s = models.PositiveIntegerField(null=True, blank=True, help_text="the series' interval")
    origin_at = models.DateTimeField(null=True, blank=True, help_text="step 0's start")
    last_step = models.IntegerField(null=True, blank=True)
    policy_state = models.JSONField(default=dict, blank=True)
    feed_state = models.JSONField(default=dict, blank=True)
    router_state = models.JSONField(
        default=dict, blank=True, help_text="the serverless router's recent decisions and loads"
    )
    last_desired = models.JSONField(
        default=list, blank=True, help_text="the newest decision: [[type, option, replicas], ...]"
    )
    message = models.TextField(blank=True, help_text="why the last step held, if it did")
    updated_at = models.DateTimeField(auto_now=True)
    objects = WorkloadChildQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.policy} controller of {self.workload}"


class ControlDecision(models.Model):
    """What the policy decided for one step, and what the controller did with it.

    `desired` lists {"instance_type", "purchase_option", "replicas"}, inside the applied plan's
    envelope (`wanted` is what the policy asked for before it); `applied` says whether
    the targets were converged to it (the newest step of a run) or the step was only caught up.
    """

    workload = models.ForeignKey(
        "workloads.Workload", models.CASCADE, related_name="control_decisions"
    )
    step = models.IntegerField()
    step_at = models.DateTimeField(help_text="the step's start")
    origin_at = models.DateTimeField(help_text="the controller's step 0, when it decided")
    policy = models.CharField(max_length=32)
    demand_rps = models.FloatField(help_text="the newest load the policy saw")
    desired = models.JSONField()
    replicas = models.PositiveIntegerField(help_text="all pools together, as applied")
    serverless_share = models.FloatField(
        default=0.0, help_text="share of the step's requests routed to functions (ALB weight)"
    )
    wanted = models.PositiveIntegerField(
        null=True, blank=True, help_text="what the policy asked for before the plan's envelope"
    )
    applied = models.BooleanField(default=False)
    outcome = models.TextField(blank=True)
    decided_at = models.DateTimeField(auto_now_add=True)
    objects = WorkloadChildQuerySet.as_manager()

    class Meta:
        ordering = ["workload", "-step_at"]
        constraints = [
            models.UniqueConstraint(fields=["workload", "step_at"], name="decision_once_per_step"),
            models.CheckConstraint(condition=Q(step__gte=0), name="decision_step_gte_0"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.workload_id} step {self.step} @ {self.step_at:%Y-%m-%dT%H:%M}: {self.replicas}"
        )
