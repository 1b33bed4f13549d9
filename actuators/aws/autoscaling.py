"""The AWS actuator of an EC2 Auto Scaling group: its sizes and its on-demand split."""

from __future__ import annotations

import copy
import math
from collections import Counter
from typing import Any

from actuators.aws.base import AwsActuator, keys_from_tag
from actuators.base import PermanentError, Serving, Step


class AutoScalingGroup(AwsActuator):
    """An EC2 Auto Scaling group: sizes and, with a mixed instances policy, its on-demand split.

    Every step is one update_auto_scaling_group call. When the group has a MixedInstancesPolicy,
    each call restates it (as described a moment before, with the step's field changed).
    AWS would keep an omitted policy, but an implementation that replaces it wholesale (moto
    does) would silently drop the Spot/On-Demand split; the price is a describe-to-update window
    in which someone else's policy edit could be overwritten.
    """

    kind = "aws_asg"
    settings = (
        "desired_capacity",
        "min_size",
        "max_size",
        "on_demand_base_capacity",
        "on_demand_percentage_above_base",
    )
    SIZE_PARAMETERS = {
        "desired_capacity": "DesiredCapacity",
        "min_size": "MinSize",
        "max_size": "MaxSize",
    }
    DISTRIBUTION_FIELDS = {
        "on_demand_base_capacity": "OnDemandBaseCapacity",
        "on_demand_percentage_above_base": "OnDemandPercentageAboveBaseCapacity",
    }
    DISTRIBUTION_DEFAULTS = {"OnDemandBaseCapacity": 0, "OnDemandPercentageAboveBaseCapacity": 100}

    def _group(self, setting: str | None) -> dict[str, Any]:
        groups = self._read(
            setting, "describe_auto_scaling_groups", AutoScalingGroupNames=[self.reference]
        )["AutoScalingGroups"]
        if not groups:
            raise PermanentError(f"{self.target}: no Auto Scaling group named {self.reference!r}")
        return dict(groups[0])

    def _observe(self, setting: str | None) -> tuple[dict[str, int], list[str]]:
        group = self._group(setting)
        state = {name: int(group[param]) for name, param in self.SIZE_PARAMETERS.items()}
        if "MixedInstancesPolicy" in group:
            distribution = group["MixedInstancesPolicy"].get("InstancesDistribution", {})
            for name, field in self.DISTRIBUTION_FIELDS.items():
                state[name] = int(distribution.get(field, self.DISTRIBUTION_DEFAULTS[field]))
        tags = {tag["Key"]: tag.get("Value") for tag in group.get("Tags", [])}
        keys = keys_from_tag(tags.get(self._key_tag(setting))) if setting else []
        return state, keys

    def serving(self) -> Serving | None:
        """Instances serving and launching per (instance type, market); None in dry run.

        One DescribeAutoScalingGroups call. Its `Instance` entries
        (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_Instance.html) give each
        instance's `InstanceType`, `LifecycleState` and `HealthStatus`: ready is `InService`
        and `Healthy`, pending a `Pending` state (`Pending`, `Pending:Wait`,
        `Pending:Proceed`); standby, unhealthy, terminating and detaching instances serve
        nothing, and a launch that found no capacity leaves no instance at all. The entries
        carry no market, so it is read from the group's `InstancesDistribution`
        (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_InstancesDistribution.html):
        of the desired capacity, `OnDemandBaseCapacity` and then
        `OnDemandPercentageAboveBaseCapacity` of the rest are On-Demand, the rest Spot. As
        only Spot is reclaimed, instances present count as On-Demand up to that number, in
        the overrides' priority order (the "prioritized" On-Demand strategy, the default),
        and the missing ones as Spot. A launch that failed for On-Demand capacity is thus
        counted as missing Spot: the per-type totals stay exact. Without a mixed instances
        policy every instance is On-Demand. A reservation only bills On-Demand instances,
        so "on_demand" here means non-spot.
        """
        if self.dry_run:
            return None
        group = self._group(None)
        ready: Counter[str] = Counter()
        pending: Counter[str] = Counter()
        for instance in group.get("Instances", []):
            state, name = instance.get("LifecycleState", ""), instance.get("InstanceType", "")
            if state == "InService" and instance.get("HealthStatus") == "Healthy":
                ready[name] += 1
            elif state.startswith("Pending"):
                pending[name] += 1
        on_demand = self._on_demand_count(group, ready.total() + pending.total())
        order = _priority_order(group, set(ready) | set(pending))
        ready_on_demand = _take_in_order(ready, on_demand, order)
        pending_on_demand = _take_in_order(pending, on_demand - ready_on_demand.total(), order)
        out: Serving = {}
        for name in order:
            counts = {
                "on_demand": (ready_on_demand[name], pending_on_demand[name]),
                "spot": (
                    ready[name] - ready_on_demand[name],
                    pending[name] - pending_on_demand[name],
                ),
            }
            out.update({(name, market): n for market, n in counts.items() if any(n)})
        return out

    def _on_demand_count(self, group: dict[str, Any], present: int) -> int:
        """How many instances the group keeps On-Demand (all, without a mixed policy)."""
        if "MixedInstancesPolicy" not in group:
            return present
        distribution = group["MixedInstancesPolicy"].get("InstancesDistribution", {})
        base = int(distribution.get("OnDemandBaseCapacity", 0))
        percent = int(distribution.get("OnDemandPercentageAboveBaseCapacity", 100))
        desired = int(group["DesiredCapacity"])
        return min(desired, base) + math.ceil(max(0, desired - base) * percent / 100)

    def _validate(self, step: Step, state: dict[str, int]) -> None:
        if step.setting in self.DISTRIBUTION_FIELDS and step.setting not in state:
            raise PermanentError(
                f"{self.target} {step.setting}: the group has no mixed instances policy"
            )
        after = {**state, step.setting: step.after}
        if not after["min_size"] <= after["desired_capacity"] <= after["max_size"]:
            raise PermanentError(
                f"{self.target} {step.setting}: {step.after} would break min <= desired <= max "
                f"({after['min_size']} <= {after['desired_capacity']} <= {after['max_size']})"
            )
        if after.get("on_demand_percentage_above_base", 0) > 100:
            raise PermanentError(f"{self.target} {step.setting}: must be <= 100, got {step.after}")

    def _set(self, setting: str, value: int) -> None:
        params: dict[str, Any] = {"AutoScalingGroupName": self.reference}
        if setting in self.SIZE_PARAMETERS:
            params[self.SIZE_PARAMETERS[setting]] = value
        policy = self._group(setting).get("MixedInstancesPolicy")
        if policy:
            params["MixedInstancesPolicy"] = _restated_policy(
                policy, self.DISTRIBUTION_FIELDS.get(setting), value
            )
        self._write(setting, "update_auto_scaling_group", **params)

    def _record_key(self, setting: str, tag_value: str) -> None:
        tag = {
            "ResourceId": self.reference,
            "ResourceType": "auto-scaling-group",
            "Key": self._key_tag(setting),
            "Value": tag_value,
            "PropagateAtLaunch": False,
        }
        self._write(setting, "create_or_update_tags", Tags=[tag])


def _priority_order(group: dict[str, Any], present: set[str]) -> list[str]:
    """The instance types present: the overrides' order first, then the others by name."""
    template = group.get("MixedInstancesPolicy", {}).get("LaunchTemplate", {})
    listed = [o["InstanceType"] for o in template.get("Overrides", []) if "InstanceType" in o]
    first = [name for name in dict.fromkeys(listed) if name in present]
    return first + sorted(present - set(first))


def _take_in_order(counts: Counter[str], n: int, order: list[str]) -> Counter[str]:
    """Up to `n` of `counts`, the types earliest in `order` first."""
    taken: Counter[str] = Counter()
    for name in order:
        taken[name] = min(counts[name], max(0, n - taken.total()))
    return taken


def _restated_policy(policy: dict[str, Any], field: str | None, value: int) -> dict[str, Any]:
    """A described MixedInstancesPolicy as an update request, with `field` set to `value`."""
    restated = copy.deepcopy(policy)
    template = restated.get("LaunchTemplate", {})
    for spec_holder in [template, *template.get("Overrides", [])]:
        spec = spec_holder.get("LaunchTemplateSpecification")
        if spec and spec.get("LaunchTemplateId"):  # describe returns id and name; update takes one
            spec.pop("LaunchTemplateName", None)
    if field:
        restated.setdefault("InstancesDistribution", {})[field] = value
    return restated
