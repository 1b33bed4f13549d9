"""Admin for forecast runs (read-only: runs are results)."""

from django.contrib import admin

from apps.forecasts.models import ForecastRun


@admin.register(ForecastRun)
class ForecastRunAdmin(admin.ModelAdmin):
    """Forecast runs and their outcome."""

    list_display = ["workload", "series", "model", "model_used", "status", "created_at"]
    list_filter = ["status", "model"]
    exclude = ["mean", "quantile_values"]

    def has_change_permission(self, request, obj=None) -> bool:
        """Runs are results, not settings."""
        return False
