"""The AWS actuator of a SageMaker endpoint's production variant: its instance count."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from actuators.aws.base import AwsActuator, classify_error, keys_from_tag
from actuators.base import PermanentError, Serving


class SageMakerVariant(AwsActuator):
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
        return state, keys_from_tag(tags.get(self._key_tag(setting)))

    def serving(self) -> Serving | None:
        """The variant's instances in service and still coming; None in dry run.

        DescribeEndpoint's `ProductionVariantSummary`
        (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantSummary.html):
        `CurrentInstanceCount` ready, the rest of `DesiredInstanceCount` pending. The instance
        type lives in the endpoint config, not here (""); endpoints run On-Demand.
        """
        if self.dry_run:
            return None
        variants = self._endpoint(None).get("ProductionVariants", [])
        variant = next((v for v in variants if v["VariantName"] == self.variant), None)
        if variant is None:
            raise PermanentError(f"{self.target}: endpoint {self.endpoint} has no {self.variant}")
        current = int(variant.get("CurrentInstanceCount", 0))
        desired = int(variant.get("DesiredInstanceCount", current))
        return {("", "on_demand"): (current, max(0, desired - current))}

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
