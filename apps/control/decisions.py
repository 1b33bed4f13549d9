"""A controller step's decisions: each recorded as a row, the newest converged onto the targets."""

from __future__ import annotations

from datetime import timedelta

from actuators.base import TransientError
from actuators.targets import desired_state
from apps.actuation.models import ApplyStep
from apps.actuation.services import converge
from apps.control.models import ControlDecision, Controller
from policies.base import Decision


def record_decision(
    controller: Controller,
    t: int,
    demand: float,
    decision: Decision,
    share: float,
    policy: str,
    wanted: int | None,
):
    """Store the decision of step `t` as a `ControlDecision` row, its pools listed."""
    desired = [
        {"instance_type": pool[0], "purchase_option": pool[1], "replicas": int(n)}
        for pool, n in sorted(decision.desired.items())
    ]
    return ControlDecision.objects.create(
        workload=controller.workload,
        step=t,
        step_at=controller.origin_at + timedelta(seconds=t * controller.step_s),
        origin_at=controller.origin_at,
        policy=policy,
        demand_rps=demand,
        desired=desired,
        replicas=sum(e["replicas"] for e in desired),
        serverless_share=share,
        wanted=wanted,
    )


def apply_decision(
    controller: Controller,
    row: ControlDecision,
    decision: Decision,
    share: float,
    enveloped: bool,
    note: str,
) -> str | None:
    """Converge every target to `decision` and `share`; None when all got there, else why not.

    Without an applied plan covering the step (`enveloped` False) only dry-run targets move.
    """
    workload = controller.workload
    pools: dict[str, int] = {}
    for (_, option), n in decision.desired.items():
        pools[option] = pools.get(option, 0) + n
    notes, failures = [note] if note else [], []
    for target in workload.targets.order_by("pk"):
        if not target.dry_run and not enveloped:
            failures.append(
                f"{target.kind}:{target.reference} is live and no applied plan covers now"
            )
            continue
        try:
            failure = converge(
                target,
                desired_state(target.kind, [pools], serverless_share=share, pool=target.pool),
                purpose=ApplyStep.Purpose.CONTROL,
                key_prefix=f"control/workload-{workload.pk}/{row.step_at:%Y%m%dT%H%M%S}",
            )
        except TransientError as exc:
            failure = f"{target.kind}:{target.reference}: {exc} (the next step retries)"
        if failure:
            failures.append(failure)
    ControlDecision.objects.filter(pk=row.pk).update(
        applied=not failures, outcome="; ".join(notes + failures) or "targets converged"
    )
    return "; ".join(failures) or None
