"""Serializers for the pricing catalog."""

from decimal import Decimal

from rest_framework import serializers

from apps.catalog.models import InstanceType, Offer, Provider, Region, ServerlessOffer
from apps.kernel.api import RejectUnknownFieldsMixin


class ProviderSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """A cloud provider."""

    class Meta:
        model = Provider
        fields = ["id", "slug", "name"]


class RegionSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """A provider's region."""

    provider = serializers.SlugRelatedField(slug_field="slug", queryset=Provider.objects.all())

    class Meta:
        model = Region
        fields = ["id", "provider", "code"]


class InstanceTypeSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """A VM shape."""

    provider = serializers.SlugRelatedField(slug_field="slug", queryset=Provider.objects.all())
    memory_gib = serializers.DecimalField(max_digits=9, decimal_places=2, min_value=Decimal("0.01"))

    class Meta:
        model = InstanceType
        fields = [
            "id",
            "provider",
            "name",
            "vcpu",
            "memory_gib",
            "gpu_count",
            "gpu_model",
            "accelerator_memory_gib",
        ]

    def validate(self, attrs):
        """A GPU count needs a GPU model."""
        gpu_count = attrs.get("gpu_count", getattr(self.instance, "gpu_count", 0))
        gpu_model = attrs.get("gpu_model", getattr(self.instance, "gpu_model", ""))
        if gpu_count and not gpu_model:
            raise serializers.ValidationError({"gpu_model": ["required when gpu_count > 0"]})
        return attrs


class OfferSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """One price point; a new price is a new offer with a later valid_from."""

    region = serializers.PrimaryKeyRelatedField(queryset=Region.objects.all())
    instance_type = serializers.PrimaryKeyRelatedField(queryset=InstanceType.objects.all())
    instance_type_name = serializers.CharField(source="instance_type.name", read_only=True)
    price_per_hour_usd = serializers.DecimalField(
        max_digits=12, decimal_places=6, min_value=Decimal(0)
    )

    class Meta:
        model = Offer
        fields = [
            "id",
            "region",
            "instance_type",
            "instance_type_name",
            "purchase_option",
            "price_per_hour_usd",
            "interruption_band",
            "valid_from",
            "is_estimate",
            "source",
        ]

    def validate(self, attrs):
        """Interruption bands describe spot capacity only; one price per instant."""
        if attrs.get("interruption_band") and attrs["purchase_option"] != "spot":
            raise serializers.ValidationError(
                {"interruption_band": ["only spot offers have an interruption band"]}
            )
        key = {k: attrs[k] for k in ("region", "instance_type", "purchase_option", "valid_from")}
        if Offer.objects.filter(**key).exists():
            raise serializers.ValidationError(
                {"valid_from": ["this offer already has a price from that instant"]}
            )
        return attrs


class ServerlessOfferSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """Serverless capacity prices."""

    region = serializers.PrimaryKeyRelatedField(queryset=Region.objects.all())
    price_per_request_usd = serializers.DecimalField(
        max_digits=14, decimal_places=12, min_value=Decimal(0), default=0
    )
    price_per_gb_second_usd = serializers.DecimalField(
        max_digits=14, decimal_places=12, min_value=Decimal(0)
    )
    cold_start_s = serializers.FloatField(min_value=0)

    class Meta:
        model = ServerlessOffer
        fields = [
            "id",
            "region",
            "name",
            "price_per_request_usd",
            "price_per_gb_second_usd",
            "memory_min_mb",
            "memory_max_mb",
            "cold_start_s",
            "max_concurrency",
            "valid_from",
            "is_estimate",
            "source",
        ]

    def validate(self, attrs):
        """Memory range must be ordered."""
        low = attrs.get("memory_min_mb", getattr(self.instance, "memory_min_mb", None))
        high = attrs.get("memory_max_mb", getattr(self.instance, "memory_max_mb", None))
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"memory_max_mb": ["must be >= memory_min_mb"]})
        return attrs
