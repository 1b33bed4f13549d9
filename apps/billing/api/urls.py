"""Billing API routes."""

from rest_framework.routers import DefaultRouter

from apps.billing.api import views

router = DefaultRouter()
router.register("billed-costs", views.BilledCostViewSet, basename="billedcost")
urlpatterns = router.urls
