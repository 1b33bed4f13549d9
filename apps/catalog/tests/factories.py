"""factory_boy factories for the catalog."""

from datetime import UTC, datetime
from decimal import Decimal

import factory

from apps.catalog.models import InstanceType, Offer, Provider, PurchaseOption, Region


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider
        django_get_or_create = ["slug"]

    slug = "aws"
    name = "Amazon Web Services"


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ["provider", "code"]

    provider = factory.SubFactory(ProviderFactory)
    code = "us-east-1"


class InstanceTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InstanceType
        django_get_or_create = ["provider", "name"]

    provider = factory.SubFactory(ProviderFactory)
    name = factory.Sequence(lambda n: f"c9.{n}xlarge")
    vcpu = 4
    memory_gib = Decimal("8")


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    region = factory.SubFactory(RegionFactory)
    instance_type = factory.SubFactory(InstanceTypeFactory)
    purchase_option = PurchaseOption.ON_DEMAND
    price_per_hour_usd = Decimal("0.17")
    valid_from = datetime(2026, 1, 1, tzinfo=UTC)
