"""The dry-run actuator: records what it would do and changes nothing outside itself.

It is the default for new targets. Dry run is enforced here, not only by whoever plans: this
class has no way to reach a real system. Its "observed" state is the state it was given plus
the steps it has recorded, so describe/verify/rollback behave as they would on a real target
and a redelivered step under the same key is recorded once.
"""

from __future__ import annotations

from collections.abc import Mapping

from actuators.base import Serving, Step, StepResult


class DryRunActuator:
    """Records steps against an in-memory copy of a target's state."""

    dry_run = True

    def __init__(
        self,
        target: str,
        state: Mapping[str, int] | None = None,
        applied_keys: set[str] | None = None,
    ):
        self.target = target
        self.state = dict(state or {})
        self.applied_keys = applied_keys if applied_keys is not None else set()
        self.journal: list[StepResult] = []

    def describe(self) -> dict[str, int]:
        """The recorded state."""
        return dict(self.state)

    def apply(self, step: Step, key: str) -> StepResult:
        """Record `step` unless `key` was recorded before."""
        if key in self.applied_keys:
            return StepResult(step, False, True, f"already recorded under {key}")
        self.state[step.setting] = step.after
        self.applied_keys.add(key)
        result = StepResult(step, True, True, f"dry run: would set {step.describe()}")
        self.journal.append(result)
        return result

    def verify(self, step: Step) -> bool:
        """Whether the recorded state holds the step's target value."""
        return self.state.get(step.setting) == step.after

    def serving(self) -> Serving | None:
        """Not observed: a dry-run target serves nothing of the world."""
        return None
