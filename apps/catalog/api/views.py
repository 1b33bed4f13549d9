"""Catalog API: everyone signed in reads, FinOps writes; prices are added, never overwritten."""

from rest_framework import mixins, viewsets

from apps.accounts.permissions import IsFinOpsOrReadOnly, TokenScopesCover
from apps.catalog.api.filters import (
    InstanceTypeFilterSet,
    OfferFilterSet,
    ServerlessOfferFilterSet,
)
from apps.catalog.api.serializers import (
    InstanceTypeSerializer,
    OfferSerializer,
    ProviderSerializer,
    RegionSerializer,
    ServerlessOfferSerializer,
)
from apps.catalog.models import InstanceType, Offer, Provider, Region, ServerlessOffer


class EditableViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """List, retrieve, create and update; rows others depend on are not deleted through the API."""

    permission_classes = [IsFinOpsOrReadOnly, TokenScopesCover]


class AppendOnlyViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Price history: a new price is a new row with a later valid_from."""

    permission_classes = [IsFinOpsOrReadOnly, TokenScopesCover]


class ProviderViewSet(EditableViewSet):
    """Cloud providers."""

    queryset = Provider.objects.all()
    serializer_class = ProviderSerializer
    filterset_fields = ["slug"]


class RegionViewSet(EditableViewSet):
    """Regions of providers."""

    queryset = Region.objects.select_related("provider")
    serializer_class = RegionSerializer
    filterset_fields = ["code", "provider__slug"]


class InstanceTypeViewSet(EditableViewSet):
    """Instance types and their specs."""

    queryset = InstanceType.objects.select_related("provider")
    serializer_class = InstanceTypeSerializer
    filterset_class = InstanceTypeFilterSet
    ordering_fields = ["name", "vcpu", "memory_gib", "gpu_count"]


class OfferViewSet(AppendOnlyViewSet):
    """Hourly prices per purchase option, with history."""

    queryset = Offer.objects.select_related("instance_type", "region")
    serializer_class = OfferSerializer
    filterset_class = OfferFilterSet
    ordering_fields = ["price_per_hour_usd", "valid_from"]


class ServerlessOfferViewSet(AppendOnlyViewSet):
    """Serverless prices, with history."""

    queryset = ServerlessOffer.objects.select_related("region")
    serializer_class = ServerlessOfferSerializer
    filterset_class = ServerlessOfferFilterSet
