"""App config for plans."""

from django.apps import AppConfig


class PlansConfig(AppConfig):
    """Optimization runs, scaling plans, their guardrails, schedules and audit trail."""

    name = "apps.plans"

    def ready(self) -> None:
        """Listen to target, workload and admin changes (each recorded by its module here)."""
        from apps.kernel.admin import admin_changed
        from apps.plans import admin_changes, target_changes, workload_changes
        from apps.workloads import signals

        admin_changed.connect(admin_changes.record_admin_change)
        signals.target_changing.connect(target_changes.refuse_while_applying)
        signals.target_changed.connect(target_changes.record_and_supersede)
        signals.workload_changed.connect(workload_changes.record_workload_change)
