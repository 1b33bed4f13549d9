"""The AWS actuator of an ALB listener or rule: the share of requests it sends to a function."""

from __future__ import annotations

import copy
from typing import Any

from actuators.aws.base import AwsActuator, keys_from_tag
from actuators.base import PermanentError, Step


class AlbWeightedRoute(AwsActuator):
    """The serverless share of an ALB listener or listener rule that forwards to two weights.

    The reference is a listener ARN (its default action) or a listener-rule ARN; its forward
    action must name exactly two target groups, one of target type `lambda` (the function) and
    one of any other type (the VM replicas). `serverless_weight` is the function's weight in
    percent of all requests; each step writes both weights so that they sum to 100 (ALB sends
    each request to a group with probability weight / sum of weights). The action is restated
    as described, with only the two weights changed, through modify_listener or modify_rule.
    """

    kind = "aws_alb_route"
    settings = ("serverless_weight",)

    def _is_rule(self) -> bool:
        return ":listener-rule/" in self.reference

    def _forward(self, setting: str | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """(every action of the listener or rule, the forward action among them)."""
        if self._is_rule():
            found = self._read(setting, "describe_rules", RuleArns=[self.reference])["Rules"]
        else:
            found = self._read(setting, "describe_listeners", ListenerArns=[self.reference])[
                "Listeners"
            ]
        if not found:
            raise PermanentError(f"{self.target}: no listener or rule {self.reference!r}")
        actions = copy.deepcopy(found[0].get("Actions") or found[0].get("DefaultActions") or [])
        forwards = [a for a in actions if a.get("Type") == "forward" and a.get("ForwardConfig")]
        if len(forwards) != 1:
            raise PermanentError(f"{self.target}: needs one forward action with target groups")
        return actions, forwards[0]

    def _groups(self, setting: str | None, forward: dict[str, Any]) -> tuple[str, str]:
        """(the VM target group's ARN, the function's), or why the action does not fit."""
        arns = [g["TargetGroupArn"] for g in forward["ForwardConfig"].get("TargetGroups", [])]
        if len(arns) != 2:
            raise PermanentError(
                f"{self.target}: the forward action names {len(arns)} target groups; "
                "it must name two, the VMs and one Lambda function"
            )
        described = self._read(setting, "describe_target_groups", TargetGroupArns=arns)
        kinds = {g["TargetGroupArn"]: g.get("TargetType") for g in described["TargetGroups"]}
        functions = [arn for arn in arns if kinds.get(arn) == "lambda"]
        if len(functions) != 1:
            raise PermanentError(
                f"{self.target}: exactly one of the two target groups must be of type lambda"
            )
        (vms,) = [arn for arn in arns if arn != functions[0]]
        return vms, functions[0]

    def _observe(self, setting: str | None) -> tuple[dict[str, int], list[str]]:
        _, forward = self._forward(setting)
        _, function = self._groups(setting, forward)
        weights = {
            g["TargetGroupArn"]: int(g.get("Weight", 1))
            for g in forward["ForwardConfig"]["TargetGroups"]
        }
        total = sum(weights.values())
        state = {"serverless_weight": round(100 * weights[function] / total) if total else 0}
        if setting is None:
            return state, []
        tags = self._read(setting, "describe_tags", ResourceArns=[self.reference])
        pairs = {t["Key"]: t.get("Value") for d in tags["TagDescriptions"] for t in d["Tags"]}
        return state, keys_from_tag(pairs.get(self._key_tag(setting)))

    def _validate(self, step: Step, state: dict[str, int]) -> None:
        super()._validate(step, state)
        if step.after > 100:
            raise PermanentError(f"{self.target} {step.setting}: must be <= 100, got {step.after}")

    def _set(self, setting: str, value: int) -> None:
        actions, forward = self._forward(setting)
        vms, function = self._groups(setting, forward)
        weight = {vms: 100 - value, function: value}
        forward["ForwardConfig"]["TargetGroups"] = [
            {"TargetGroupArn": arn, "Weight": weight[arn]} for arn in (vms, function)
        ]
        forward.pop("TargetGroupArn", None)  # the single-group shorthand; ForwardConfig rules
        if self._is_rule():
            self._write(setting, "modify_rule", RuleArn=self.reference, Actions=actions)
        else:
            self._write(
                setting, "modify_listener", ListenerArn=self.reference, DefaultActions=actions
            )

    def _record_key(self, setting: str, tag_value: str) -> None:
        tag = {"Key": self._key_tag(setting), "Value": tag_value}
        self._write(setting, "add_tags", ResourceArns=[self.reference], Tags=[tag])
