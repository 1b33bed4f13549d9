"""Admin pages for the live controller: read its state, start or pause it (both audited)."""

from django.contrib import admin, messages

from apps.control import services
from apps.control.models import ControlDecision, Controller


@admin.register(Controller)
class ControllerAdmin(admin.ModelAdmin):
    """Start or pause a workload's controller; what it learned is shown, never edited."""

    list_display = ("workload", "policy", "enabled", "last_step", "origin_at", "message")
    list_filter = ("enabled", "policy")
    actions = ("start_fresh", "pause")

    def has_add_permission(self, request):
        """Controllers are started from a workload (`services.enable_controller`)."""
        return False

    def has_change_permission(self, request, obj=None):
        """Changes go through the audited actions."""
        return False

    @admin.action(description="Start fresh (the policy relearns from the newest metrics)")
    def start_fresh(self, request, queryset):
        """Re-enable the selected controllers from a new origin."""
        for controller in queryset.select_related("workload"):
            services.enable_controller(
                workload=controller.workload, policy=controller.policy, by=request.user
            )
        self.message_user(request, f"{queryset.count()} controller(s) started", messages.SUCCESS)

    @admin.action(description="Pause (targets keep their last state)")
    def pause(self, request, queryset):
        """Stop stepping the selected controllers."""
        for controller in queryset.select_related("workload"):
            services.pause_controller(controller=controller, by=request.user)
        self.message_user(request, f"{queryset.count()} controller(s) paused", messages.SUCCESS)


@admin.register(ControlDecision)
class ControlDecisionAdmin(admin.ModelAdmin):
    """Every step's decision, as the controller recorded it."""

    list_display = ("workload", "step_at", "policy", "demand_rps", "replicas", "applied")
    list_filter = ("applied", "policy")

    def has_add_permission(self, request):
        """Decisions are the controller's own."""
        return False

    def has_change_permission(self, request, obj=None):
        """Decisions are history."""
        return False
