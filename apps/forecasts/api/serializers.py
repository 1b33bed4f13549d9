"""Serializers for forecast runs."""

import math

from django.conf import settings
from rest_framework import serializers

from apps.forecasts.models import ForecastRun
from apps.kernel.fields import BoundedListField
from apps.kernel.runs import RUN_STATE_FIELDS
from apps.workloads.api.serializers import WorkloadChildSerializer
from apps.workloads.models import SERIES_NAME, MetricObservation
from forecasting.base import MAX_SEED

RESULT_FIELDS = (
    "model_used",
    "selection_reason",
    "history_points",
    "interval_s",
    "start",
    "scores",
    *RUN_STATE_FIELDS,
)


class ForecastRunSerializer(WorkloadChildSerializer):
    """A run without its arrays; read them at /forecast-runs/{id}/points/."""

    series = serializers.CharField(max_length=64, validators=[SERIES_NAME], default="requests")
    horizon = serializers.IntegerField(min_value=1)
    quantiles = BoundedListField(
        max_length=20,
        min_length=1,
        child=serializers.FloatField(),
        required=False,
        help_text="default [0.5, 0.9, 0.99]",
    )
    seed = serializers.IntegerField(
        min_value=0, max_value=MAX_SEED, default=0, help_text=f"0 to {MAX_SEED}"
    )

    class Meta:
        model = ForecastRun
        fields = [
            "id",
            "workload",
            "series",
            "model",
            "horizon",
            "quantiles",
            "seed",
            *RESULT_FIELDS,
        ]
        read_only_fields = RESULT_FIELDS

    def validate_horizon(self, horizon):
        """A horizon's points must fit in one response."""
        limit = settings.MAX_POINTS_PER_REQUEST
        if horizon > limit:
            raise serializers.ValidationError(f"at most {limit} intervals, got {horizon}")
        return horizon

    def validate(self, attrs):
        """A series with no observations has nothing to forecast: refused now, naming it."""
        attrs = super().validate(attrs)
        workload, series = attrs["workload"], attrs.get("series", "requests")
        if not MetricObservation.objects.filter(workload=workload, series=series).exists():
            raise serializers.ValidationError(
                {
                    "series": [
                        f"workload {workload.name!r} has no observations of {series!r}: push "
                        "metrics or import a trace first"
                    ]
                }
            )
        return attrs

    def validate_quantiles(self, quantiles):
        """Levels strictly between 0 and 1, at most 20."""
        if not quantiles or len(quantiles) > 20:
            raise serializers.ValidationError("give 1 to 20 levels")
        bad = [q for q in quantiles if not (math.isfinite(q) and 0 < q < 1)]
        if bad:
            raise serializers.ValidationError(f"levels must lie strictly in (0, 1), got {bad}")
        return quantiles


class ForecastPointsSerializer(serializers.Serializer):
    """The forecast in columns: one timestamp per interval, the mean and each quantile."""

    interval_s = serializers.IntegerField()
    timestamps = serializers.ListField(child=serializers.DateTimeField())
    mean = serializers.ListField(child=serializers.FloatField())
    quantiles = serializers.DictField(child=serializers.ListField(child=serializers.FloatField()))
