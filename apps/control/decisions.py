"""A controller step's decisions: each recorded as a row, the newest converged onto the targets.

Before deciding, `read_serving` reads what the workload's live targets have serving.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait
from datetime import timedelta

from actuators.base import ActuatorError, Serving, TransientError
from actuators.targets import TARGET_KIND, desired_state
from apps.actuation.models import ApplyStep
from apps.actuation.registry import actuator_for, target_name
from apps.actuation.services import converge
from apps.control.models import ControlDecision, Controller
from apps.plans.models import ScalingPlan
from apps.workloads.models import Workload
from policies.base import Decision

READ_TIMEOUT_S = 5.0  # all targets' reads together; a slower answer is a failed read


def read_serving(workload: Workload) -> list[Serving] | str | None:
    """What each live target running replicas reports serving, read at once (`serving`).

    Returns the reads; None when there is nothing to read (no live target runs replicas) or
    a target's kind reports nothing (an HPA): a partial read would show that target's replicas
    as gone; or why a read failed (a refusal, an error, no answer within READ_TIMEOUT_S).
    """
    targets = [
        t for t in workload.targets.order_by("pk") if not t.dry_run and TARGET_KIND[t.kind].replicas
    ]
    if not targets:
        return None
    actuators = []
    for target in targets:
        try:
            actuators.append(actuator_for(target))
        except ActuatorError as exc:
            return f"{target_name(target)}: {exc}"
    pool = ThreadPoolExecutor(max_workers=len(actuators), thread_name_prefix="serving")
    futures = [pool.submit(actuator.serving) for actuator in actuators]
    _, late = wait(futures, timeout=READ_TIMEOUT_S)
    pool.shutdown(wait=False, cancel_futures=True)  # a late read finishes on its own
    reads = []
    for target, future in zip(targets, futures, strict=True):
        if future in late:
            return f"{target_name(target)}: no answer within {READ_TIMEOUT_S:g} s"
        try:
            read = future.result()
        except ActuatorError as exc:
            return str(exc)
        if read is None:
            return None
        reads.append(read)
    return reads


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
    covering: ScalingPlan | None,
    note: str,
) -> str | None:
    """Converge every target to `decision` and `share`; None when all got there, else why not.

    A live target moves only inside the applied plan whose envelope covers the step
    (`covering`), and only if that plan froze it as it still is (`ScalingPlan.covers`): a
    target changed since two people approved the plan moves again once a plan covers it.
    Dry-run targets always move.
    """
    workload = controller.workload
    pools: dict[str, int] = {}
    for (_, option), n in decision.desired.items():
        pools[option] = pools.get(option, 0) + n
    notes, failures = [note] if note else [], []
    for target in workload.targets.order_by("pk"):
        if not target.dry_run and covering is None:
            failures.append(
                f"{target.kind}:{target.reference} is live and no applied plan covers now"
            )
            continue
        if not target.dry_run and not covering.covers(target):
            failures.append(
                f"{target.kind}:{target.reference} changed since plan {covering.pk} was "
                "approved; it moves again once a new plan is applied"
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
