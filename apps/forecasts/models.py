"""Forecast runs and their results.

A run's result is stored in the run's own row as arrays (mean and one array per quantile), with
the first timestamp and the interval: a month of minute points is one row, not 40,000.
"""

from datetime import timedelta

from django.db import models
from django.db.models import Q

from apps.kernel.runs import Run
from apps.workloads.models import SERIES_NAME, WorkloadChildQuerySet


class ForecastRun(Run):
    """One forecast of one series of a workload, from request to result."""

    class Model(models.TextChoices):
        AUTO = "auto"
        SEASONAL_NAIVE = "seasonal_naive"
        ETS = "ets"
        SARIMA = "sarima"
        PROPHET = "prophet"
        LSTM = "lstm"
        ENSEMBLE = "ensemble"

    workload = models.ForeignKey("workloads.Workload", models.CASCADE, related_name="forecasts")
    series = models.CharField(max_length=64, validators=[SERIES_NAME], default="requests")
    model = models.CharField(max_length=16, choices=Model, default=Model.AUTO)
    horizon = models.PositiveIntegerField(help_text="intervals to forecast")
    quantiles = models.JSONField(default=list, help_text="levels in (0, 1)")
    seed = models.PositiveIntegerField(default=0)
    # The result, filled when the run succeeds.
    model_used = models.CharField(max_length=32, blank=True)
    selection_reason = models.TextField(blank=True)
    history_points = models.PositiveIntegerField(null=True, blank=True)
    interval_s = models.PositiveIntegerField(null=True, blank=True)
    start = models.DateTimeField(null=True, blank=True, help_text="time of the first forecast")
    mean = models.JSONField(null=True, blank=True)
    quantile_values = models.JSONField(null=True, blank=True, help_text='{"0.9": [...], ...}')
    scores = models.JSONField(null=True, blank=True, help_text="backtest scores per model")
    objects = WorkloadChildQuerySet.as_manager()

    class Meta(Run.Meta):
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(horizon__gte=1), name="forecast_horizon_gte_1"),
        ]
        indexes = [models.Index(fields=["workload", "series", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.model} forecast of {self.workload}/{self.series} ({self.status})"

    def timestamps(self) -> list:
        """The instant of each forecast interval."""
        if self.start is None:
            return []
        step = timedelta(seconds=self.interval_s)
        return [self.start + i * step for i in range(len(self.mean or []))]
