"""Optimization runs: an allocation problem solved on a worker, with its Pareto front."""

from django.db import models

from apps.workloads.models import WorkloadChildQuerySet
from controlplane.runs import Run


class OptimizationRun(Run):
    """One allocation problem of a workload, solved by GA-PSO or the exact reference."""

    class Method(models.TextChoices):
        GAPSO = "gapso"
        EXACT = "exact"
        HYBRID = "hybrid"
        EXHAUSTIVE = "exhaustive"

    workload = models.ForeignKey("workloads.Workload", models.CASCADE, related_name="optimizations")
    problem = models.JSONField(help_text="an optimization.problem.AllocationProblem as JSON")
    method = models.CharField(max_length=16, choices=Method, default=Method.GAPSO)
    seed = models.PositiveIntegerField(default=0)
    with_pareto = models.BooleanField(default=True)
    solution = models.JSONField(null=True, blank=True)
    pareto = models.JSONField(
        null=True, blank=True, help_text="non-dominated points, cheapest first"
    )
    knee_index = models.PositiveIntegerField(null=True, blank=True)
    device = models.CharField(max_length=16, blank=True, help_text="where GA-PSO ran: cpu or cuda")
    objects = WorkloadChildQuerySet.as_manager()

    class Meta(Run.Meta):
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.method} optimization of {self.workload} ({self.status})"
