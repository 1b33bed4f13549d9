"""Catalog API routes."""

from rest_framework.routers import DefaultRouter

from apps.catalog.api import views

router = DefaultRouter()
router.register("providers", views.ProviderViewSet)
router.register("regions", views.RegionViewSet)
router.register("instance-types", views.InstanceTypeViewSet)
router.register("offers", views.OfferViewSet)
router.register("serverless-offers", views.ServerlessOfferViewSet)
urlpatterns = router.urls
