"""What the AWS actuators share: calls, error mapping, key tags, dry run, the apply sequence.

Errors: `classify_error` maps a botocore error to a `TransientError` (throttling, 429 and 5xx
answers, connection errors, an update already in progress) or a `PermanentError`.

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

from actuators.base import (
    ActuatorError,
    PermanentError,
    Serving,
    Step,
    StepResult,
    TransientError,
)

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


class AwsActuator:
    """What every AWS actuator shares: calls, error mapping, key tags, the apply sequence."""

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

    def serving(self) -> Serving | None:
        """Not observed, unless the backend reads it (a dry-run target never is)."""
        return None

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


def keys_from_tag(value: str | None) -> list[str]:
    """The keys recorded in a key tag's value (newest first); none for a missing tag."""
    return value.split() if value else []
