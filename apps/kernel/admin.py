"""Changes made in the admin, announced so that the audit trail records them.

The admin is another way to write what gets applied: the identities a team's actuators act as,
the references its targets may name, who holds which role. `AuditedAdmin` announces every row
it creates, changes or removes, its inlines' rows included, through `admin_changed`, with who
did it and the row before and after; the plans app puts each one on the audit trail
(`apps.plans.admin_changes`). The kernel holds the signal so that every app's admin can send it
without importing the app that records it.
"""

from typing import Any

from django.contrib import admin
from django.db import models, transaction
from django.dispatch import Signal
from django.forms.models import model_to_dict

# sender: the model; kwargs: user, instance, action ("created", "changed", "removed"),
# before and after (dicts of the row's fields, None where there is no row).
admin_changed = Signal()


def snapshot(row: models.Model) -> dict[str, Any]:
    """The row's fields as the audit trail keeps them (JSON-safe: other values as text)."""
    fields = model_to_dict(row)
    safe = (str, int, float, bool, type(None), list, dict)
    return {name: v if isinstance(v, safe) else str(v) for name, v in fields.items()}


def stored(row: models.Model) -> dict[str, Any] | None:
    """The row as the database holds it now; None if it is not stored."""
    if row.pk is None:
        return None
    found = type(row)._base_manager.filter(pk=row.pk).first()
    return snapshot(found) if found is not None else None


def announce(user: Any, row: models.Model, action: str, before: Any, after: Any) -> None:
    """Send `admin_changed` for one row."""
    admin_changed.send(
        sender=type(row), user=user, instance=row, action=action, before=before, after=after
    )


class AuditedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A ModelAdmin whose writes, inlines' included, are announced (and so audited)."""

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        """Save, then announce with the row before and after, in one transaction."""
        with transaction.atomic():
            before = stored(obj) if change else None
            super().save_model(request, obj, form, change)
            action = "changed" if change else "created"
            announce(request.user, obj, action, before, snapshot(obj))

    def delete_model(self, request: Any, obj: Any) -> None:
        """Delete, then announce what it was."""
        with transaction.atomic():
            before = snapshot(obj)
            super().delete_model(request, obj)
            announce(request.user, obj, "removed", before, None)

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        """The list's bulk delete, one announced row at a time."""
        for row in queryset:
            self.delete_model(request, row)

    def save_formset(self, request: Any, form: Any, formset: Any, change: bool) -> None:
        """Save an inline's rows, announcing each one created, changed or removed."""
        with transaction.atomic():
            # By the row object: a deleted row has lost its primary key by the time it is named.
            before = {id(f.instance): stored(f.instance) for f in formset.initial_forms}
            super().save_formset(request, form, formset, change)
            for row in formset.new_objects:
                announce(request.user, row, "created", None, snapshot(row))
            for row, _fields in formset.changed_objects:
                announce(request.user, row, "changed", before.get(id(row)), snapshot(row))
            for row in formset.deleted_objects:
                announce(request.user, row, "removed", before.get(id(row)), None)
