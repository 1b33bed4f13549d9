"""What a change to a deployment target does to plans: refused mid-apply, audited, superseding.

An approval covers the targets a plan froze at proposal (`ScalingPlan.targets`), so a change to
one of them (created, changed or removed through the API, `apps.workloads.signals`) ends the
open plans of the workload that froze another picture of its targets: they are superseded and
must be requested again. While a plan of the workload is being applied the change is refused,
so an apply never races it. Every change is on the audit trail with what the target was and is.
"""

from __future__ import annotations

from typing import Any

from apps.plans import audit
from apps.plans.lifecycle import supersede
from apps.plans.models import PlanStatus, ScalingPlan
from apps.workloads.signals import ChangeRefused

S = PlanStatus


def refuse_while_applying(workload: Any, before: dict | None, **_: Any) -> None:
    """`target_changing`: no target of a workload changes while one of its plans is applied."""
    applying = ScalingPlan.objects.filter(workload=workload, status=S.APPLYING).first()
    if applying is not None:
        raise ChangeRefused(
            f"plan {applying.pk} of {workload} is being applied to this workload's targets; "
            "change them once it has ended"
        )


def record_and_supersede(
    workload: Any, before: dict | None, after: dict | None, user: Any, via: str, **_: Any
) -> None:
    """`target_changed`: audit the change and supersede the open plans it invalidates."""
    shown = after or before or {}
    name = f"{shown.get('kind')}:{shown.get('reference')}"
    action = audit.change_action(before, after)
    audit.record_change(workload, "target", name, before=before, after=after, user=user, via=via)
    supersede(
        ScalingPlan.objects.filter(workload=workload),
        reason=f"deployment target {name} {action} after the plan was proposed",
        message=f"superseded: target {name} {action}; request a new plan",
    )
