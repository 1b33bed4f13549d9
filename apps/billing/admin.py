"""Admin for billing: FinOps adds and edits the places the bill is read from here."""

from django.contrib import admin

from apps.billing.models import BilledCost, BillingSource
from apps.kernel.admin import AuditedAdmin


@admin.register(BillingSource)
class BillingSourceAdmin(AuditedAdmin):
    """Billing sources and how their last pull went; every change is on the audit trail."""

    list_display = ["name", "kind", "tag_key", "last_pulled_at", "last_error"]
    list_filter = ["kind"]
    readonly_fields = ["last_pulled_at", "last_error"]


@admin.register(BilledCost)
class BilledCostAdmin(admin.ModelAdmin):
    """Cost lines as billed (read-only: a pull replaces them)."""

    list_display = ["day", "source", "tag_value", "usage_type", "purchase_option", "amount_usd"]
    list_filter = ["source", "purchase_option"]
    search_fields = ["tag_value", "usage_type"]
    date_hierarchy = "day"

    def has_add_permission(self, request) -> bool:
        """Rows come from pulls."""
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        """Rows come from pulls."""
        return False
