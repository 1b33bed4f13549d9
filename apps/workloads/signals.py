"""What the workloads app tells the apps above it, which it may not import (the layers contract).

A deployment target is where approved capacity lands, so every change to one is announced:
`target_changing` before a target is created, changed or removed (a receiver refuses the change
by raising `ChangeRefused`, which the API answers with a 409 naming the reason), and
`target_changed` after, in the same transaction, with what the target was and is. The plans app
listens: it refuses a change while a plan of the workload is being applied, audits each change,
and supersedes the open plans that froze the target (`apps.plans.target_changes`).

`workload_changed` says the same of a workload itself and of the rows that describe it (its SLA,
model variants and metric sources), after each write through the API and in its transaction;
the plans app puts it on the audit trail (`apps.plans.workload_changes`).
"""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

# Both send: workload, before and after (`describe_target` dicts, None when created or
# removed), user, via ("api" or "token").
target_changing = Signal()
target_changed = Signal()
# Sends: workload, subject ("workload", "sla", "variant", "metric_source"), before and after (the
# row as the API shows it, None when created or removed), user, via ("api" or "token").
workload_changed = Signal()


class ChangeRefused(Exception):
    """A receiver of `target_changing` refuses the change; `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def describe_target(target: Any) -> dict[str, Any]:
    """A target as its change is announced and audited."""
    return {
        "id": target.pk,
        "kind": target.kind,
        "reference": target.reference,
        "dry_run": target.dry_run,
        "pool": target.pool,
    }
