"""Webhooks API routes."""

from rest_framework.routers import DefaultRouter

from apps.webhooks.api import views

router = DefaultRouter()
router.register("webhooks", views.WebhookViewSet, basename="webhook")
router.register("webhook-deliveries", views.WebhookDeliveryViewSet, basename="webhookdelivery")
urlpatterns = router.urls
