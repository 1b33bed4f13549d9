"""Cloud providers, regions, instance types and their prices, with history.

A price change adds an `Offer` row with a later `valid_from`; rows are never overwritten, so the
price in force at any moment (and the history a chart needs) can be read back.
"""

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from optimization.purchase import CATALOG_CHOICES

# How an instance is bought: a value per purchase option and term (`optimization.purchase`),
# as ON_DEMAND = "on_demand", ..., RESERVED_1Y = "reserved_1y", RESERVED_3Y = "reserved_3y".
PurchaseOption = models.TextChoices(
    "PurchaseOption", [(value.upper(), (value, label)) for value, label in CATALOG_CHOICES]
)


class InterruptionBand(models.TextChoices):
    """AWS Spot Advisor 'frequency of interruption' over the trailing month."""

    UNDER_5 = "<5%"
    FROM_5_TO_10 = "5-10%"
    FROM_10_TO_15 = "10-15%"
    FROM_15_TO_20 = "15-20%"
    OVER_20 = ">20%"


class Provider(models.Model):
    """A cloud provider such as `aws`."""

    slug = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=64)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Region(models.Model):
    """A provider's region such as `us-east-1`."""

    provider = models.ForeignKey(Provider, models.PROTECT, related_name="regions")
    code = models.CharField(max_length=32)

    class Meta:
        ordering = ["provider", "code"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "code"], name="region_unique_code"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_id and self.provider.slug}/{self.code}"


class InstanceType(models.Model):
    """A VM shape: CPU, memory and accelerators."""

    provider = models.ForeignKey(Provider, models.PROTECT, related_name="instance_types")
    name = models.CharField(max_length=64)
    vcpu = models.PositiveIntegerField()
    memory_gib = models.DecimalField(max_digits=9, decimal_places=2)
    gpu_count = models.PositiveIntegerField(default=0)
    gpu_model = models.CharField(max_length=64, blank=True)
    accelerator_memory_gib = models.DecimalField(
        max_digits=9, decimal_places=2, null=True, blank=True
    )

    class Meta:
        ordering = ["provider", "name"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "name"], name="instance_type_unique_name"),
            models.CheckConstraint(condition=Q(memory_gib__gt=0), name="instance_memory_gt_0"),
            models.CheckConstraint(
                condition=Q(gpu_count=0) | ~Q(gpu_model=""), name="instance_gpu_has_model"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OfferQuerySet(models.QuerySet):
    """Reads over price history."""

    def in_force(self, at=None):
        """Offers valid at `at` (default: now) that no later price point of theirs replaces."""
        at = at or timezone.now()
        replaced_by = Offer.objects.filter(
            region=OuterRef("region"),
            instance_type=OuterRef("instance_type"),
            purchase_option=OuterRef("purchase_option"),
            valid_from__gt=OuterRef("valid_from"),
            valid_from__lte=at,
        )
        return self.filter(valid_from__lte=at).exclude(Exists(replaced_by))


class Offer(models.Model):
    """The hourly price of one instance type bought one way in one region, from `valid_from`."""

    region = models.ForeignKey(Region, models.PROTECT, related_name="offers")
    instance_type = models.ForeignKey(InstanceType, models.PROTECT, related_name="offers")
    purchase_option = models.CharField(max_length=16, choices=PurchaseOption)
    price_per_hour_usd = models.DecimalField(max_digits=12, decimal_places=6)
    interruption_band = models.CharField(
        max_length=8, choices=InterruptionBand, blank=True, help_text="spot offers only"
    )
    valid_from = models.DateTimeField()
    is_estimate = models.BooleanField(
        default=False, help_text="derived from a ratio rather than read from a price list"
    )
    source = models.TextField(blank=True)
    objects = OfferQuerySet.as_manager()

    class Meta:
        ordering = ["instance_type__name", "purchase_option", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "instance_type", "purchase_option", "valid_from"],
                name="offer_unique_price_point",
            ),
            models.CheckConstraint(
                condition=Q(price_per_hour_usd__gte=0), name="offer_price_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(purchase_option="spot") | Q(interruption_band=""),
                name="offer_band_only_for_spot",
            ),
        ]
        indexes = [models.Index(fields=["instance_type", "purchase_option", "valid_from"])]

    def __str__(self) -> str:
        return f"{self.instance_type}/{self.purchase_option} ${self.price_per_hour_usd}/h"


class ServerlessOffer(models.Model):
    """Serverless capacity (e.g. AWS Lambda) priced per request and per GB-second."""

    region = models.ForeignKey(Region, models.PROTECT, related_name="serverless_offers")
    name = models.CharField(max_length=64)
    price_per_request_usd = models.DecimalField(max_digits=14, decimal_places=12, default=0)
    price_per_gb_second_usd = models.DecimalField(max_digits=14, decimal_places=12)
    memory_min_mb = models.PositiveIntegerField()
    memory_max_mb = models.PositiveIntegerField()
    cold_start_s = models.FloatField(help_text="typical cold start of a small model, seconds")
    max_concurrency = models.PositiveIntegerField(null=True, blank=True)
    valid_from = models.DateTimeField()
    is_estimate = models.BooleanField(default=False)
    source = models.TextField(blank=True)

    class Meta:
        ordering = ["name", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "name", "valid_from"], name="serverless_unique_price_point"
            ),
            models.CheckConstraint(
                condition=Q(price_per_request_usd__gte=0) & Q(price_per_gb_second_usd__gte=0),
                name="serverless_prices_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(memory_min_mb__lte=models.F("memory_max_mb")),
                name="serverless_memory_range",
            ),
            models.CheckConstraint(condition=Q(cold_start_s__gte=0), name="serverless_cold_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.name} from {self.valid_from:%Y-%m-%d}"
