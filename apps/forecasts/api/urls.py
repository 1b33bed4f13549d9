"""Forecast API routes."""

from rest_framework.routers import DefaultRouter

from apps.forecasts.api import views

router = DefaultRouter()
router.register("forecast-runs", views.ForecastRunViewSet, basename="forecastrun")
urlpatterns = router.urls
