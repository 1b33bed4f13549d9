"""Serializers of the billing API."""

from rest_framework import serializers

from apps.billing.models import BilledCost


class BilledCostSerializer(serializers.ModelSerializer):
    """One billed cost line: a day, a usage type and option under a tag value, in USD."""

    source = serializers.SlugRelatedField(slug_field="name", read_only=True)
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = BilledCost
        fields = [
            "id",
            "source",
            "day",
            "team",
            "workload",
            "tag_value",
            "usage_type",
            "purchase_option",
            "amount_usd",
        ]
        read_only_fields = fields
