"""The AWS actuator of a Lambda alias: its provisioned concurrency."""

from __future__ import annotations

from typing import Any

from actuators.aws.base import AwsActuator, keys_from_tag
from actuators.base import Step


class LambdaProvisionedConcurrency(AwsActuator):
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
        return state, keys_from_tag(tags.get(self._key_tag(setting)))

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
