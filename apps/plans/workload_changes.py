"""Changes to a workload, its SLA, variants and metric sources, on the audit trail.

The workloads app announces each write through its API (`apps.workloads.signals.
workload_changed`); this records it with what the row was and is, as target changes are.
"""

from __future__ import annotations

from typing import Any

from apps.plans import audit


def record_workload_change(
    workload: Any,
    subject: str,
    before: dict | None,
    after: dict | None,
    user: Any,
    via: str,
    **_: Any,
) -> None:
    """`workload_changed`: one audit event, `<subject>.created|changed|removed`."""
    name = (after or before or {}).get("name") or workload.name
    audit.record_change(workload, subject, name, before=before, after=after, user=user, via=via)
