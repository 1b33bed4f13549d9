"""Serializers for a workload's metrics: points, bulk ingests, series, trace uploads, sources."""

from django.utils import timezone
from rest_framework import serializers

from apps.kernel.api import RejectUnknownFieldsMixin
from apps.workloads.api.serializers import WorkloadChildSerializer, WorkloadField, check_writable
from apps.workloads.models import (
    SERIES_NAME,
    MetricObservation,
    MetricSource,
    TraceImport,
    prometheus_host_refusal,
)
from forecasting.bounds import MAX_VALUE, instant_refusal, stray_refusal
from forecasting.trace import TraceError, read_trace


def in_range(ts):
    """Refuse an instant before 1970-01-01 or from 2100-01-01 UTC (`forecasting.bounds`)."""
    if refusal := instant_refusal(ts):
        raise serializers.ValidationError(refusal)


class BoundedDateTimeField(serializers.DateTimeField):
    """An ISO-8601 instant from 1970-01-01 to before 2100-01-01 UTC."""

    def __init__(self, **kwargs):
        super().__init__(validators=[in_range], **kwargs)


class MetricObservationSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """One stored point (read-only; write through a workload's bulk metrics endpoint)."""

    class Meta:
        model = MetricObservation
        fields = ["id", "workload", "series", "ts", "value"]
        read_only_fields = fields


class SeriesNameSerializer(serializers.Serializer):
    """The name of a metric series, e.g. `requests` or `latency_p99_ms`."""

    series = serializers.CharField(max_length=64, validators=[SERIES_NAME])


class PointSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """One point of a bulk ingest (documentation only: `ingest.parse_points` checks them)."""

    ts = serializers.DateTimeField(
        help_text="ISO-8601 with a time zone, from 1970-01-01 to before 2100-01-01 UTC, at most "
        "1 h ahead of the clock and at most a day before the series' first point"
    )
    value = serializers.FloatField(
        min_value=0,
        max_value=MAX_VALUE,
        help_text=f"finite, >= 0 and below {MAX_VALUE:g}; once the series' newest week holds 48 "
        "points, at most 1000 times its largest value",
    )


class MetricBatchSerializer(SeriesNameSerializer):
    """A bulk ingest: `{"series": "requests", "points": [{"ts": ISO-8601, "value": n}, ...]}`."""

    points = PointSerializer(many=True, help_text="strictly increasing in time")


class IngestResultSerializer(serializers.Serializer):
    """What a bulk ingest did."""

    received = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()


class SeriesSerializer(serializers.Serializer):
    """A stored series in columns, as charts and forecasters read it."""

    series = serializers.CharField()
    timestamps = serializers.ListField(child=serializers.DateTimeField())
    values = serializers.ListField(child=serializers.FloatField())


class TraceImportSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """An uploaded trace CSV (`timestamp,value`) and the state of its import."""

    file = serializers.FileField(write_only=True)
    workload = WorkloadField()
    series = serializers.CharField(max_length=64, validators=[SERIES_NAME], default="requests")

    class Meta:
        model = TraceImport
        fields = [
            "id",
            "workload",
            "series",
            "file",
            "filename",
            "status",
            "message",
            "rows_imported",
            "interval_s",
            "created_at",
            "finished_at",
        ]
        read_only_fields = [
            "filename",
            "status",
            "message",
            "rows_imported",
            "interval_s",
            "created_at",
            "finished_at",
        ]

    def validate_workload(self, workload):
        """Only sre and ci members import into a team's workload."""
        check_writable(self.context["request"].user, workload.team)
        return workload

    def validate_file(self, upload):
        """Check the whole file now, so a bad trace gets its 400 instead of a failed import.

        A few missing rows are accepted, as forecasting fills them (the rule `read_trace`
        applies); only the rows the file has are stored. Rows dated outside 1970 to 2100, a grid
        too long to build and a last row over an hour ahead of the clock are refused, naming
        the file.
        """
        content = upload.read()
        try:
            trace = read_trace(content, name=upload.name)
        except TraceError as exc:
            raise serializers.ValidationError(f"{upload.name}: {exc}") from exc
        last_s = int(trace.timestamps[-1].astype("datetime64[s]").astype("int64"))
        if refusal := stray_refusal(last_s, 0.0, None, now_s=int(timezone.now().timestamp())):
            raise serializers.ValidationError(f"{upload.name}: its last timestamp {refusal[1]}")
        upload.content = content
        return upload


class SeriesQuerySerializer(SeriesNameSerializer):
    """?series=requests&start=ISO&end=ISO."""

    start = BoundedDateTimeField(required=False)
    end = BoundedDateTimeField(required=False)


class MetricSourceSerializer(WorkloadChildSerializer):
    """A Prometheus query that fills one metric series of a workload, and its last outcome."""

    step_s = serializers.IntegerField(min_value=15, max_value=86400, default=60)
    lookback_h = serializers.IntegerField(min_value=1, max_value=2160, default=168)

    class Meta:
        model = MetricSource
        fields = [
            "id",
            "workload",
            "series",
            "base_url",
            "promql",
            "step_s",
            "lookback_h",
            "token_env",
            "enabled",
            "last_success_at",
            "last_error",
            "last_error_at",
            "points_last_pull",
            "created_at",
        ]
        read_only_fields = [
            "last_success_at",
            "last_error",
            "last_error_at",
            "points_last_pull",
            "created_at",
        ]
        validators = []  # the (workload, series) clash is named in validate()

    def validate(self, attrs):
        """One source per series of a workload; an allowed server; a token granted to its team."""
        workload = attrs.get("workload") or self.instance.workload
        if "base_url" in attrs and (refusal := prometheus_host_refusal(attrs["base_url"])):
            raise serializers.ValidationError({"base_url": [refusal]})
        series = attrs.get("series", getattr(self.instance, "series", None))
        token_env = attrs.get("token_env", getattr(self.instance, "token_env", ""))
        if token_env and (refusal := workload.team.token_env_refusal(token_env)):
            raise serializers.ValidationError({"token_env": [refusal]})
        clash = MetricSource.objects.filter(workload=workload, series=series).exclude(
            pk=getattr(self.instance, "pk", None)
        )
        if clash.exists():
            raise serializers.ValidationError(
                {"series": [f"workload already has a source for {series!r}"]}
            )
        return attrs
