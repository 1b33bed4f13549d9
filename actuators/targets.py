"""What a plan asks of each kind of target, and in which order to set it.

A plan's candidate gives VM replicas per interval (each on an offer with a purchase option) and
the requests per second sent to functions. Applying it sets the first interval now and bounds
the autoscalers by the whole horizon:

- k8s_deployment: `replicas` = the first interval's replicas.
- k8s_hpa: `min_replicas` = the first interval's, `max_replicas` = the horizon's largest.
- keda_scaled_object: the same as `min_replica_count` / `max_replica_count`.
- aws_asg: `desired_capacity` = the first interval's, `min_size` / `max_size` the horizon's
  smallest and largest, `on_demand_base_capacity` = the first interval's non-spot replicas,
  `on_demand_percentage_above_base` = 0 (everything above the base on spot).
- sagemaker_variant: `desired_instance_count` = the first interval's replicas.
- lambda_alias: `provisioned_concurrency` = the first interval's function rate times its
  duration (Little's law), rounded up; 0 when nothing goes to functions.
- aws_alb_route: `serverless_weight` = the share of requests the ALB listener (or rule) sends
  to the Lambda target group, in whole percent, rounded up (`quantize_share`):
  the live controller sets it every step; a plan's apply sets its first interval's.

Adding a kind: its entry in `TARGET_KINDS`, its branch of `desired_state`, its actuator class,
and their tests.

A Kubernetes object may carry one pool only (`pool`: a Deployment per capacity type, its pods
pinned with Karpenter's `karpenter.sh/capacity-type`): it then counts that purchase option's
replicas, so the spot/on-demand split is enacted by real objects.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from actuators.base import State, Step
from optimization.purchase import OPTION

WEIGHT_STEPS = 100  # ALB target-group weights are integers: Ballast writes whole percent


@dataclass(frozen=True, slots=True)
class TargetKind:
    """One kind of deployment target: where it lives and which actuator drives it.

    The one list of kinds (`TARGET_KINDS`): the database's choices, the API's checks and the
    app's actuator registry derive from it, and `desired_state` says what a plan sets on it.
    """

    name: str  # the target's `kind`, e.g. "k8s_deployment"
    platform: str  # "kubernetes" (a namespace/name reference) or "aws"
    actuator: str  # "module:Class" of its actuator in this package, imported when first used
    aws_service: str = ""  # the boto3 client it needs, for an AWS kind
    pooled: bool = False  # may carry one purchase option's replicas (`pool`)
    pins_pool: bool = False  # its actuator pins its pods to the pool (`capacity_type`)
    replicas: bool = True  # runs the VM replicas (the live controller reads what serves)


TARGET_KINDS = (
    TargetKind(
        "k8s_deployment",
        "kubernetes",
        "kubernetes:KubernetesDeployment",
        pooled=True,
        pins_pool=True,
    ),
    TargetKind("k8s_hpa", "kubernetes", "kubernetes:HorizontalPodAutoscaler", pooled=True),
    TargetKind("keda_scaled_object", "kubernetes", "kubernetes:KedaScaledObject", pooled=True),
    TargetKind("aws_asg", "aws", "aws.autoscaling:AutoScalingGroup", "autoscaling"),
    TargetKind("sagemaker_variant", "aws", "aws.sagemaker:SageMakerVariant", "sagemaker"),
    TargetKind(
        "lambda_alias",
        "aws",
        "aws.lambda_concurrency:LambdaProvisionedConcurrency",
        "lambda",
        replicas=False,
    ),
    TargetKind("aws_alb_route", "aws", "aws.alb:AlbWeightedRoute", "elbv2", replicas=False),
)
TARGET_KIND = {kind.name: kind for kind in TARGET_KINDS}
KINDS = tuple(TARGET_KIND)
POOLED_KINDS = tuple(kind.name for kind in TARGET_KINDS if kind.pooled)


def desired_state(
    kind: str,
    pools: Sequence[Mapping[str, int]],
    *,
    serverless_rps: Sequence[float] = (),
    serverless_duration_ms: float = 0.0,
    serverless_share: float = 0.0,
    pool: str = "",
) -> dict[str, int]:
    """The settings `kind` needs for a candidate's replicas (see the module docstring).

    Args:
        kind: one of KINDS.
        pools: per interval, purchase option (`optimization.purchase.OPTIONS`) -> replicas.
        serverless_rps: requests per second sent to functions, per interval.
        serverless_duration_ms: one request's duration on a function.
        serverless_share: the share of requests routed to functions now, in [0, 1].
        pool: a Kubernetes object carrying one purchase option's replicas only (a Deployment
            pinned to a Karpenter capacity type); "" for every replica.
    """
    if pool:
        if kind not in POOLED_KINDS:
            raise ValueError(f"pool: a {kind} carries every pool, got {pool!r}")
        pools = [{pool: row.get(pool, 0)} for row in pools]
    totals = [sum(row.values()) for row in pools] or [0]
    first = pools[0] if pools else {}
    if kind == "k8s_deployment":
        return {"replicas": totals[0]}
    if kind == "k8s_hpa":
        return {"min_replicas": max(1, totals[0]), "max_replicas": max(1, *totals)}
    if kind == "keda_scaled_object":
        return {"min_replica_count": totals[0], "max_replica_count": max(totals)}
    if kind == "aws_asg":
        non_spot = sum(n for option, n in first.items() if not OPTION[option].interruptible)
        return {
            "desired_capacity": totals[0],
            "min_size": min(totals),
            "max_size": max(totals),
            "on_demand_base_capacity": non_spot,
            "on_demand_percentage_above_base": 0,
        }
    if kind == "sagemaker_variant":
        return {"desired_instance_count": totals[0]}
    if kind == "lambda_alias":
        rate = float(serverless_rps[0]) if serverless_rps else 0.0
        return {"provisioned_concurrency": math.ceil(rate * serverless_duration_ms / 1000)}
    if kind == "aws_alb_route":
        return {"serverless_weight": weight_percent(serverless_share)}
    raise ValueError(f"kind: unknown target kind {kind!r}; known: {', '.join(KINDS)}")


def quantize_share(share: float) -> float:
    """A serverless share as the ALB can route it: rounded up to whole percent, in [0, 1]."""
    return min(1.0, max(0.0, math.ceil(share * WEIGHT_STEPS - 1e-9) / WEIGHT_STEPS))


def weight_percent(share: float) -> int:
    """The Lambda target group's weight, in percent of all requests."""
    return round(quantize_share(share) * WEIGHT_STEPS)


# Bounds move before the value they bound when growing, after it when shrinking, so that
# min <= value <= max holds after every single step (AWS and Kubernetes refuse otherwise).
BOUNDED = {
    "desired_capacity": ("min_size", "max_size"),
    "min_replicas": (None, "max_replicas"),
    "min_replica_count": (None, "max_replica_count"),
}


def order_steps(steps: Sequence[Step], observed: State) -> list[Step]:
    """`steps` in an order that keeps every intermediate state valid.

    A raised maximum goes first and a lowered one last; a lowered minimum goes first and a
    raised one last; the bounded value sits between them.
    """
    rank: dict[str, int] = {}
    for value, (low, high) in BOUNDED.items():
        for step in steps:
            if step.setting == high:
                rank[high] = 0 if step.after >= (observed.get(high) or 0) else 2
            if step.setting == low:
                rank[low] = 0 if step.after <= (observed.get(low) or 0) else 2
            if step.setting == value:
                rank[value] = 1
    return sorted(steps, key=lambda s: (rank.get(s.setting, 1), s.setting))
