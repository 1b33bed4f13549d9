"""Admin for optimization runs (read-only: runs are results)."""

from django.contrib import admin

from apps.plans.models import OptimizationRun


@admin.register(OptimizationRun)
class OptimizationRunAdmin(admin.ModelAdmin):
    """Optimization runs and their outcome."""

    list_display = ["workload", "method", "status", "device", "created_at"]
    list_filter = ["status", "method"]

    def has_change_permission(self, request, obj=None) -> bool:
        """Runs are results, not settings."""
        return False
