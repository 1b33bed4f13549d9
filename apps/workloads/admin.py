"""Admin for workloads."""

from django.contrib import admin

from apps.kernel.admin import AuditedAdmin
from apps.workloads.models import (
    SLA,
    CapacityProfile,
    DeploymentTarget,
    MetricObservation,
    MetricSource,
    ModelVariant,
    TraceImport,
    Workload,
)


class SLAInline(admin.StackedInline):
    """The workload's SLA."""

    model = SLA


class TargetInline(admin.TabularInline):
    """Deployment targets, read here only.

    They change through the API, which holds a reference to the team's granted patterns,
    supersedes the plans that name the target and audits the change.
    """

    model = DeploymentTarget
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        """Through the API only."""
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        """Through the API only."""
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        """Through the API only."""
        return False


@admin.register(Workload)
class WorkloadAdmin(AuditedAdmin):
    """Workloads with SLA and targets inline."""

    list_display = ["name", "team", "kind", "updated_at"]
    list_filter = ["kind", "team"]
    search_fields = ["name"]
    inlines = [SLAInline, TargetInline]


class ProfileInline(admin.TabularInline):
    """Capacity per instance type."""

    model = CapacityProfile
    extra = 0


@admin.register(ModelVariant)
class ModelVariantAdmin(AuditedAdmin):
    """Model variants with their capacity profiles."""

    list_display = ["name", "workload", "version", "accuracy", "memory_mb"]
    inlines = [ProfileInline]


@admin.register(MetricObservation)
class MetricObservationAdmin(admin.ModelAdmin):
    """Observed points (read-only here: they come from ingest)."""

    list_display = ["workload", "series", "ts", "value"]
    list_filter = ["series"]
    date_hierarchy = "ts"

    def has_change_permission(self, request, obj=None) -> bool:
        """Observations are data, not settings."""
        return False


@admin.register(TraceImport)
class TraceImportAdmin(AuditedAdmin):
    """Trace imports and their outcome."""

    list_display = ["filename", "workload", "series", "status", "rows_imported", "created_at"]
    list_filter = ["status"]
    exclude = ["content"]
    readonly_fields = ["status", "message", "rows_imported", "interval_s", "finished_at"]


@admin.register(MetricSource)
class MetricSourceAdmin(AuditedAdmin):
    """Prometheus sources and the outcome of their last pull."""

    list_display = ["workload", "series", "base_url", "enabled", "last_success_at", "last_error"]
    list_filter = ["enabled", "series"]
    readonly_fields = ["last_success_at", "last_error", "last_error_at", "points_last_pull"]
