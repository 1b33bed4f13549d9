"""Admin pages for the live controller (read-mostly: decisions are the controller's own)."""

from django.contrib import admin

from apps.control.models import ControlDecision, Controller


@admin.register(Controller)
class ControllerAdmin(admin.ModelAdmin):
    """Enable or pause a workload's controller; its state is shown, not edited."""

    list_display = ("workload", "policy", "enabled", "last_step", "origin_at", "message")
    list_filter = ("enabled", "policy")
    readonly_fields = ("origin_at", "last_step", "policy_state", "feed_state", "message")


@admin.register(ControlDecision)
class ControlDecisionAdmin(admin.ModelAdmin):
    """Every step's decision, as the controller recorded it."""

    list_display = ("workload", "step_at", "policy", "demand_rps", "replicas", "applied")
    list_filter = ("applied", "policy")

    def has_change_permission(self, request, obj=None):
        """Decisions are history."""
        return False
