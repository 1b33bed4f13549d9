"""Admin for the pricing catalog."""

from django.contrib import admin

from apps.catalog.models import InstanceType, Offer, Provider, Region, ServerlessOffer
from apps.kernel.admin import AuditedAdmin


@admin.register(Provider)
class ProviderAdmin(AuditedAdmin):
    """Providers."""

    list_display = ["slug", "name"]


@admin.register(Region)
class RegionAdmin(AuditedAdmin):
    """Regions."""

    list_display = ["code", "provider"]


@admin.register(InstanceType)
class InstanceTypeAdmin(AuditedAdmin):
    """Instance types."""

    list_display = ["name", "vcpu", "memory_gib", "gpu_count", "gpu_model"]
    list_filter = ["provider", "gpu_count"]
    search_fields = ["name", "gpu_model"]


@admin.register(Offer)
class OfferAdmin(AuditedAdmin):
    """Price points; kept as history."""

    list_display = [
        "instance_type",
        "purchase_option",
        "price_per_hour_usd",
        "interruption_band",
        "valid_from",
        "is_estimate",
    ]
    list_filter = ["purchase_option", "is_estimate", "region"]
    search_fields = ["instance_type__name"]


@admin.register(ServerlessOffer)
class ServerlessOfferAdmin(AuditedAdmin):
    """Serverless price points."""

    list_display = [
        "name",
        "price_per_request_usd",
        "price_per_gb_second_usd",
        "cold_start_s",
        "valid_from",
    ]
