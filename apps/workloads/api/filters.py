"""Filters for the workloads API."""

import django_filters

from apps.kernel.api import UtcDateTimeFilter
from apps.workloads.models import MetricObservation, ModelVariant, TraceImport, Workload


class WorkloadFilterSet(django_filters.FilterSet):
    """?team=ml-platform&kind=online&name=ranker."""

    team = django_filters.CharFilter(field_name="team__slug")

    class Meta:
        model = Workload
        fields = ["team", "kind", "name"]


class ModelVariantFilterSet(django_filters.FilterSet):
    """?workload=3&min_accuracy=0.9."""

    min_accuracy = django_filters.NumberFilter(field_name="accuracy", lookup_expr="gte")

    class Meta:
        model = ModelVariant
        fields = ["workload", "name"]


class MetricObservationFilterSet(django_filters.FilterSet):
    """?workload=3&series=requests&ts_after=...&ts_before=... (ISO-8601)."""

    ts_after = UtcDateTimeFilter(field_name="ts", lookup_expr="gte")
    ts_before = UtcDateTimeFilter(field_name="ts", lookup_expr="lt")

    class Meta:
        model = MetricObservation
        fields = ["workload", "series"]


class TraceImportFilterSet(django_filters.FilterSet):
    """?workload=3&status=failed."""

    class Meta:
        model = TraceImport
        fields = ["workload", "status"]
