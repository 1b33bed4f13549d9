"""Plans API routes."""

from rest_framework.routers import DefaultRouter

from apps.plans.api import views

router = DefaultRouter()
router.register("optimization-runs", views.OptimizationRunViewSet, basename="optimizationrun")
urlpatterns = router.urls
