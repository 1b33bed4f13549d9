"""AWS actuators: Auto Scaling groups, SageMaker variants, Lambda concurrency, ALB weights.

Each class takes a boto3 client it does not configure. In production build it with botocore's
standard retry mode (`Config(retries={"mode": "standard"})`, 3 attempts with jittered backoff for
throttling, 5xx and connection errors): what still fails reaches us as a `TransientError` and the
caller retries later with its own backoff. Tests build clients with
`retries={"total_max_attempts": 1}` to see the first error (`{"max_attempts": 1}` still allows
one retry: botocore counts retries there, not attempts).

Key tags remember several recent keys, not only the last, so that a late redelivery of an older
step (after a newer step set the same setting) is skipped instead of undoing the newer one.

Idempotency: after writing a value, `apply` records its key in a tag on the resource
(`ballast:apply-key:<setting>`, the most recent keys first, space-separated, within AWS's
256-character tag value), and a step whose key is already there is skipped. The value is written
before the tag: if the process dies between the two, the redelivered step writes the same
absolute value again, which is harmless; the other order could record a key for a value that was
never written, and the redelivery would then skip it for good.

Dry run: AWS has no dry run for these APIs, so a dry-run instance holds its client behind
`_ReadOnlyClient`, which hands out only describe_/get_/list_ operations, and every write goes
through `_write`, which refuses in dry run. Reads are real; `apply` validates the step against the
described state and reports what it would do.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError

from actuators.base import ActuatorError, PermanentError, Step, StepResult, TransientError

KEY_TAG_PREFIX = "ballast:apply-key:"
MAX_TAG_VALUE_CHARS = 256  # AWS tag value limit (Auto Scaling, SageMaker and Lambda alike)
MAX_TAG_KEY_CHARS = 128
_KEY_PATTERN = re.compile(r"^[\w.:/=+\-@]{1,128}$")  # characters every AWS tag value accepts

TRANSIENT_ERROR_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "ResourceContention",  # Auto Scaling: another update of the group is in flight
        "ScalingActivityInProgress",
        "ResourceConflictException",  # Lambda: an update of the function is in progress
    }
)
_CONNECTION_ERRORS = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
    ResponseParserError,  # a truncated or HTML body, usually from a 5xx on the way
)


class DryRunViolation(PermanentError):
    """A dry-run actuator was asked to change its target: a bug in the actuator, never retried."""


def classify_error(exc: Exception, where: str) -> ActuatorError:
    """The TransientError or PermanentError for a botocore error; `where` names target, setting."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        in_progress = code == "ValidationException" and "in-progress" in message.lower()
        if code in TRANSIENT_ERROR_CODES or status >= 500 or status == 429 or in_progress:
            return TransientError(f"{where}: {code or status} (retry later): {message}")
        return PermanentError(f"{where}: {code or status}: {message}")
    if isinstance(exc, _CONNECTION_ERRORS):
        return TransientError(f"{where}: {type(exc).__name__} (retry later): {exc}")
    return PermanentError(f"{where}: {type(exc).__name__}: {exc}")


class _ReadOnlyClient:
    """Wraps a boto3 client and hands out only its read operations."""

    READ_PREFIXES = ("describe_", "get_", "list_")

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        if not name.startswith(self.READ_PREFIXES):
            raise DryRunViolation(f"dry run: {name} is not a read operation and was refused")
        return getattr(self._client, name)


class _AwsActuator:
    """What the three AWS actuators share: calls, error mapping, key tags, the apply sequence."""

    kind = ""
    settings: tuple[str, ...] = ()

    def __init__(self, client: Any, reference: str, dry_run: bool) -> None:
        self.reference = reference
        self.target = f"{self.kind}:{reference}"
        self._dry_run = bool(dry_run)
        self._client = _ReadOnlyClient(client) if self._dry_run else client

    @property
    def dry_run(self) -> bool:
        """Fixed at construction: a dry-run instance stays one."""
        return self._dry_run

    def describe(self) -> dict[str, int]:
        """The observed state of every setting this target has."""
        return self._observe(None)[0]

    def apply(self, step: Step, key: str) -> StepResult:
        """Set `step.setting` to `step.after` unless `key` is already recorded on the resource."""
        self._check_step(step, key)
        state, keys = self._observe(step.setting)
        if key in keys:
            return StepResult(step, False, self.dry_run, f"already applied under {key}")
        self._validate(step, state)
        if self.dry_run:
            return StepResult(step, True, True, f"dry run: would set {step.describe()}")
        self._set(step.setting, step.after)
        self._record_key(step.setting, " ".join(_recent_keys([key, *keys])))
        return StepResult(step, True, False, f"set {step.describe()} (key {key})")

    def verify(self, step: Step) -> bool:
        """Whether the target now reports `step.after` for the step's setting."""
        return self.describe().get(step.setting) == step.after

    def _check_step(self, step: Step, key: str) -> None:
        if step.target != self.target:
            raise PermanentError(f"{self.target}: step is for {step.target}")
        if step.setting not in self.settings:
            raise PermanentError(
                f"{self.target}: unknown setting {step.setting!r}; "
                f"known: {', '.join(self.settings)}"
            )
        if step.after < 0:
            raise PermanentError(f"{self.target} {step.setting}: must be >= 0, got {step.after}")
        if not _KEY_PATTERN.match(key):
            raise PermanentError(
                f"{self.target} {step.setting}: key {key!r} must be 1-128 of [A-Za-z0-9_.:/=+-@]"
            )

    def _key_tag(self, setting: str) -> str:
        tag = f"{KEY_TAG_PREFIX}{setting}"
        if len(tag) > MAX_TAG_KEY_CHARS:
            raise PermanentError(
                f"{self.target}: tag key {tag!r} is over {MAX_TAG_KEY_CHARS} chars"
            )
        return tag

    def _read(self, setting: str | None, operation: str, missing: str = "", **params: Any) -> Any:
        return self._call(setting, operation, params, missing)

    def _write(self, setting: str, operation: str, missing: str = "", **params: Any) -> Any:
        if self._dry_run:  # _ReadOnlyClient would refuse too; this says so before any call
            raise DryRunViolation(f"{self.target} {setting}: dry run refused {operation}")
        return self._call(setting, operation, params, missing)

    def _call(
        self, setting: str | None, operation: str, params: dict[str, Any], missing: str
    ) -> Any:
        """Call `operation`; an error whose code is `missing` returns None instead."""
        where = f"{self.target} {setting}" if setting else self.target
        try:
            return getattr(self._client, operation)(**params)
        except ClientError as exc:
            if missing and exc.response.get("Error", {}).get("Code") == missing:
                return None
            raise classify_error(exc, f"{where}: {operation}") from exc
        except (BotoCoreError, ResponseParserError) as exc:
            raise classify_error(exc, f"{where}: {operation}") from exc

    # Each backend supplies these four.
    def _observe(self, setting: str | None) -> tuple[dict[str, int], list[str]]:
        raise NotImplementedError

    def _validate(self, step: Step, state: dict[str, int]) -> None:
        if step.setting not in state:
            raise PermanentError(f"{self.target} {step.setting}: not present on this target")

    def _set(self, setting: str, value: int) -> None:
        raise NotImplementedError

    def _record_key(self, setting: str, tag_value: str) -> None:
        raise NotImplementedError


def _recent_keys(keys: list[str]) -> list[str]:
    """The newest keys (first) that fit in one tag value; older ones are forgotten."""
    kept: list[str] = []
    for key in keys:
        if len(" ".join([*kept, key])) > MAX_TAG_VALUE_CHARS:
            break
        if key not in kept:
            kept.append(key)
    return kept


def _keys_from_tag(value: str | None) -> list[str]:
    return value.split() if value else []


class AutoScalingGroup(_AwsActuator):
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
        keys = _keys_from_tag(tags.get(self._key_tag(setting))) if setting else []
        return state, keys

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


class SageMakerVariant(_AwsActuator):
    """The instance count of one production variant of a SageMaker endpoint ("endpoint/variant").

    `verify` checks the desired count the endpoint reports; instances arrive while the endpoint
    is "Updating", during which AWS refuses another update (mapped to TransientError).
    """

    kind = "aws_sagemaker"
    settings = ("desired_instance_count",)

    def __init__(self, client: Any, reference: str, dry_run: bool) -> None:
        super().__init__(client, reference, dry_run)
        self.endpoint, _, self.variant = reference.partition("/")
        if not self.endpoint or not self.variant:
            raise ValueError(f"reference must be 'endpoint/variant', got {reference!r}")

    def _key_tag(self, setting: str) -> str:
        return super()._key_tag(f"{setting}:{self.variant}")

    def _endpoint(self, setting: str | None) -> dict[str, Any]:
        return dict(self._read(setting, "describe_endpoint", EndpointName=self.endpoint))

    def _observe(self, setting: str | None) -> tuple[dict[str, int], list[str]]:
        endpoint = self._endpoint(setting)
        variants = {v["VariantName"]: v for v in endpoint.get("ProductionVariants", [])}
        if self.variant not in variants:
            raise PermanentError(
                f"{self.target}: endpoint {self.endpoint} has no variant {self.variant!r} "
                f"(has {', '.join(sorted(variants)) or 'none'})"
            )
        variant = variants[self.variant]
        count = variant.get("DesiredInstanceCount", variant.get("CurrentInstanceCount", 0))
        state = {"desired_instance_count": int(count)}
        if setting is None:
            return state, []
        tags = self._tags(setting, endpoint["EndpointArn"])
        return state, _keys_from_tag(tags.get(self._key_tag(setting)))

    def _tags(self, setting: str, arn: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        pages = self._read(setting, "get_paginator", operation_name="list_tags")
        try:
            for page in pages.paginate(ResourceArn=arn):
                tags.update({tag["Key"]: tag["Value"] for tag in page.get("Tags", [])})
        except (ClientError, BotoCoreError, ResponseParserError) as exc:
            raise classify_error(exc, f"{self.target} {setting}: list_tags") from exc
        return tags

    def _set(self, setting: str, value: int) -> None:
        capacity = {"VariantName": self.variant, "DesiredInstanceCount": value}
        self._write(
            setting,
            "update_endpoint_weights_and_capacities",
            EndpointName=self.endpoint,
            DesiredWeightsAndCapacities=[capacity],
        )

    def _record_key(self, setting: str, tag_value: str) -> None:
        arn = self._endpoint(setting)["EndpointArn"]
        tag = {"Key": self._key_tag(setting), "Value": tag_value}
        self._write(setting, "add_tags", ResourceArn=arn, Tags=[tag])


class LambdaProvisionedConcurrency(_AwsActuator):
    """Provisioned concurrency of one Lambda alias ("function:alias"); 0 deletes the config.

    Tags live on the function (Lambda does not tag aliases), one key tag per alias. AWS
    allocates provisioned concurrency asynchronously; `verify` reads the requested value and
    fails when AWS reports the allocation FAILED.
    """

    kind = "aws_lambda"
    settings = ("provisioned_concurrency",)
    NOT_FOUND = "ProvisionedConcurrencyConfigNotFoundException"

    def __init__(self, client: Any, reference: str, dry_run: bool) -> None:
        super().__init__(client, reference, dry_run)
        self.function, _, self.alias = reference.rpartition(":")  # a function ARN has colons
        if not self.function or not self.alias:
            raise ValueError(f"reference must be 'function:alias', got {reference!r}")

    def _key_tag(self, setting: str) -> str:
        return super()._key_tag(f"{setting}:{self.alias}")

    def _config(self, setting: str | None) -> dict[str, Any]:
        config = self._read(
            setting,
            "get_provisioned_concurrency_config",
            missing=self.NOT_FOUND,
            FunctionName=self.function,
            Qualifier=self.alias,
        )
        return dict(config or {})

    def _observe(self, setting: str | None) -> tuple[dict[str, int], list[str]]:
        config = self._config(setting)
        requested = config.get("RequestedProvisionedConcurrentExecutions", 0)
        state = {"provisioned_concurrency": int(requested)}
        if setting is None:
            return state, []
        tags = self._read(setting, "list_tags", Resource=self._function_arn(setting))["Tags"]
        return state, _keys_from_tag(tags.get(self._key_tag(setting)))

    def _function_arn(self, setting: str) -> str:
        function = self._read(setting, "get_function", FunctionName=self.function)
        return str(function["Configuration"]["FunctionArn"])

    def verify(self, step: Step) -> bool:
        """Whether `step.after` is requested and AWS has not failed to allocate it."""
        config = self._config(step.setting)
        requested = int(config.get("RequestedProvisionedConcurrentExecutions", 0))
        return requested == step.after and config.get("Status") != "FAILED"

    def _set(self, setting: str, value: int) -> None:
        if value == 0:  # AWS has no "0": no config is none provisioned
            self._write(
                setting,
                "delete_provisioned_concurrency_config",
                missing=self.NOT_FOUND,
                FunctionName=self.function,
                Qualifier=self.alias,
            )
            return
        self._write(
            setting,
            "put_provisioned_concurrency_config",
            FunctionName=self.function,
            Qualifier=self.alias,
            ProvisionedConcurrentExecutions=value,
        )

    def _record_key(self, setting: str, tag_value: str) -> None:
        arn = self._function_arn(setting)
        self._write(setting, "tag_resource", Resource=arn, Tags={self._key_tag(setting): tag_value})


class AlbWeightedRoute(_AwsActuator):
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
        return state, _keys_from_tag(pairs.get(self._key_tag(setting)))

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
