"""Filters for the catalog API."""

import django_filters

from apps.catalog.models import InstanceType, Offer, PurchaseOption, ServerlessOffer
from apps.kernel.api import FilterSet, IntegerFilter, StrictBooleanFilter, UtcDateTimeFilter


class InstanceTypeFilterSet(FilterSet):
    """?provider=aws&has_gpu=true&min_vcpu=4."""

    provider = django_filters.CharFilter(field_name="provider__slug")
    has_gpu = StrictBooleanFilter(
        field_name="gpu_count", lookup_expr="gt", exclude=False, method="filter_has_gpu"
    )
    min_vcpu = IntegerFilter(field_name="vcpu", lookup_expr="gte")
    min_memory_gib = django_filters.NumberFilter(field_name="memory_gib", lookup_expr="gte")

    class Meta:
        model = InstanceType
        fields = ["provider", "name", "gpu_model"]

    def filter_has_gpu(self, queryset, name, value):
        """True: at least one GPU; false: none."""
        return queryset.filter(gpu_count__gt=0) if value else queryset.filter(gpu_count=0)


class OfferFilterSet(FilterSet):
    """?instance_type=g5.xlarge&purchase_option=spot&in_force=true, or ?at=ISO for history."""

    instance_type = django_filters.CharFilter(field_name="instance_type__name")
    region = django_filters.CharFilter(field_name="region__code")
    provider = django_filters.CharFilter(field_name="region__provider__slug")
    purchase_option = django_filters.MultipleChoiceFilter(choices=PurchaseOption.choices)
    in_force = StrictBooleanFilter(method="filter_in_force")
    at = UtcDateTimeFilter(method="filter_at", label="prices in force at")

    class Meta:
        model = Offer
        fields = ["instance_type", "region", "purchase_option", "interruption_band", "is_estimate"]

    def filter_in_force(self, queryset, name, value):
        """Only the offers in force now."""
        return queryset.in_force() if value else queryset

    def filter_at(self, queryset, name, value):
        """Only the offers in force at an instant."""
        return queryset.in_force(at=value)


class ServerlessOfferFilterSet(FilterSet):
    """?name=lambda-x86_64&region=us-east-1."""

    region = django_filters.CharFilter(field_name="region__code")

    class Meta:
        model = ServerlessOffer
        fields = ["name", "region"]
