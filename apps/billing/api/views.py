"""The billing API: the bill's cost lines as each user may read them; no writes (pulls write)."""

import django_filters
from rest_framework import viewsets

from apps.billing.api.serializers import BilledCostSerializer
from apps.billing.models import BilledCost
from apps.kernel.api import FilterSet


class BilledCostFilter(FilterSet):
    """?since=2026-11-01&until=2026-12-01&team=ml-platform&workload=3&purchase_option=spot."""

    since = django_filters.DateFilter(field_name="day", lookup_expr="gte", label="first day")
    until = django_filters.DateFilter(field_name="day", lookup_expr="lt", label="day after last")
    team = django_filters.CharFilter(field_name="team__slug")
    source = django_filters.CharFilter(field_name="source__name")
    purchase_option = django_filters.MultipleChoiceFilter(choices=BilledCost.PurchaseOption.choices)

    class Meta:
        model = BilledCost
        fields = ["workload", "tag_value", "usage_type"]


class BilledCostViewSet(viewsets.ReadOnlyModelViewSet):
    """Cost lines as billed, one per day, tag value, usage type and purchase option.

    Team members read their teams' lines allocated to a workload; FinOps reads every line,
    the untagged and unallocated ones included.
    """

    queryset = BilledCost.objects.none()  # for the schema; get_queryset scopes the rows
    serializer_class = BilledCostSerializer
    filterset_class = BilledCostFilter
    ordering_fields = ["day", "amount_usd"]

    def get_queryset(self):
        """Lines the user may read."""
        return BilledCost.objects.visible_to(self.request.user).select_related("source", "team")
