"""Simulator runs computed by workers: policy replays for savings, and what-if runs.

Both models moved here from `apps.dashboard` and keep its tables (`db_table`), so no row moved.
"""

from django.db import models
from django.db.models import Q

from apps.kernel.runs import Run
from apps.workloads.models import WorkloadChildQuerySet


class SavingsReplay(Run):
    """The threshold baseline and Ballast's policy replayed on one workload's stored traffic.

    The overview page reads the newest succeeded row per workload; nothing is simulated while a
    page loads. `result` is `simulation.compare.compare_policies`'s JSON.
    """

    workload = models.ForeignKey("workloads.Workload", models.CASCADE, related_name="+")
    history_start = models.DateTimeField(null=True, blank=True)
    history_end = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    objects = WorkloadChildQuerySet.as_manager()

    class Meta(Run.Meta):
        db_table = "dashboard_savingsreplay"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["workload", "status", "-created_at"])]

    def __str__(self) -> str:
        return f"savings replay of {self.workload} ({self.status})"


class WhatIfQuerySet(models.QuerySet):
    """What-if runs: a user sees their own, and those on workloads they can see."""

    def visible_to(self, user):
        """The user's runs and runs on workloads the user can read."""
        from apps.workloads.models import Workload

        if not user.is_authenticated:
            return self.none()
        return self.filter(Q(requested_by=user) | Q(workload__in=Workload.objects.visible_to(user)))


class WhatIfRun(Run):
    """Policies replayed by the simulator on a workload's history or an uploaded trace."""

    workload = models.ForeignKey(
        "workloads.Workload", models.CASCADE, null=True, blank=True, related_name="+"
    )
    filename = models.CharField(max_length=255, blank=True, help_text="the uploaded trace")
    content = models.BinaryField(blank=True, help_text="the uploaded CSV, so any worker reads it")
    policies = models.JSONField(help_text="names from policies.POLICIES or REFERENCES")
    baseline = models.CharField(
        max_length=32, default="threshold", help_text="the policy the headline compares with"
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text="percent done, 0-100")
    result = models.JSONField(null=True, blank=True)
    objects = WhatIfQuerySet.as_manager()

    class Meta(Run.Meta):
        db_table = "dashboard_whatifrun"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="whatif_progress_lte_100"),
            models.CheckConstraint(
                condition=Q(workload__isnull=False) | ~Q(filename=""),
                name="whatif_workload_or_trace",
            ),
        ]

    def __str__(self) -> str:
        return f"what-if {self.pk} on {self.workload or self.filename} ({self.status})"

    @property
    def source(self) -> str:
        """What was replayed, in words."""
        if self.workload_id:
            return f"{self.workload.team.slug}/{self.workload.name} (stored requests)"
        return f"uploaded trace {self.filename}"
