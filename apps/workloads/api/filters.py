"""Filters for the workloads API."""

from datetime import datetime
from typing import Any

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

from apps.kernel.api import FilterSet, UtcDateTimeFilter, UtcIsoDateTimeField
from apps.workloads.models import MetricObservation, ModelVariant, TraceImport, Workload
from forecasting.bounds import instant_refusal


class BoundedIsoDateTimeField(UtcIsoDateTimeField):
    """An ISO-8601 instant in UTC, from 1970-01-01 to before 2100-01-01 (`forecasting.bounds`)."""

    def to_python(self, value: Any) -> datetime | None:
        """Parse and convert to UTC, then refuse an instant outside the accepted range."""
        parsed = super().to_python(value)
        if parsed is not None and (refusal := instant_refusal(parsed)):
            raise forms.ValidationError(refusal)
        return parsed


# The accepted range as the schema can say it: years 1970 to 2099, and not an offset that
# moves the first or the last day's instant out of it.
IN_RANGE = r"^(?!1970-01-01T[^+]*\+(?!00:?00))(?!2099-12-31T[^-]*-(?!00:?00))(19[7-9]\d|20\d\d)-"


@extend_schema_field({"type": "string", "format": "date-time", "pattern": IN_RANGE})
class BoundedUtcDateTimeFilter(UtcDateTimeFilter):
    """`UtcDateTimeFilter` whose instant must lie in the accepted range."""

    field_class = BoundedIsoDateTimeField


class WorkloadFilterSet(FilterSet):
    """?team=ml-platform&kind=online&name=ranker."""

    team = django_filters.CharFilter(field_name="team__slug")

    class Meta:
        model = Workload
        fields = ["team", "kind", "name"]


class ModelVariantFilterSet(FilterSet):
    """?workload=3&min_accuracy=0.9."""

    min_accuracy = django_filters.NumberFilter(field_name="accuracy", lookup_expr="gte")

    class Meta:
        model = ModelVariant
        fields = ["workload", "name"]


class MetricObservationFilterSet(FilterSet):
    """?workload=3&series=requests&ts_after=...&ts_before=... (ISO-8601)."""

    ts_after = BoundedUtcDateTimeFilter(field_name="ts", lookup_expr="gte")
    ts_before = BoundedUtcDateTimeFilter(field_name="ts", lookup_expr="lt")

    class Meta:
        model = MetricObservation
        fields = ["workload", "series"]


class TraceImportFilterSet(FilterSet):
    """?workload=3&status=failed."""

    class Meta:
        model = TraceImport
        fields = ["workload", "status"]
