"""The one interface every actuator implements, on plain data.

An actuator drives one deployment target (a Kubernetes Deployment, an Auto Scaling group, ...):
`describe` reads the observed state, `steps` computes what takes it to the desired state,
`apply` performs one step under an idempotency key (a step already applied under that key is
not applied again), `verify` reads back whether a step took effect, and `rollback` returns to a
state recorded before the first step.

States are flat mappings of a setting name to an integer (e.g. {"replicas": 4}); a desired state
names only what it sets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

State = Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Step:
    """Set one setting of one target from `before` to `after`."""

    target: str
    setting: str
    before: int | None
    after: int

    def describe(self) -> str:
        """'deployment/ranker replicas 3 -> 5'."""
        return f"{self.target} {self.setting} {self.before} -> {self.after}"


@dataclass(frozen=True, slots=True)
class StepResult:
    """What applying a step did."""

    step: Step
    applied: bool  # False when the key had already been applied (a redelivery)
    dry_run: bool
    detail: str


class Actuator(Protocol):
    """Drives one target; see the module docstring."""

    target: str
    dry_run: bool

    def describe(self) -> dict[str, int]:
        """The observed state."""
        ...

    def apply(self, step: Step, key: str) -> StepResult:
        """Perform `step` once per `key`."""
        ...

    def verify(self, step: Step) -> bool:
        """Whether the observed state now holds `step.after`."""
        ...


def plan_steps(target: str, observed: State, desired: State) -> list[Step]:
    """One step per setting whose desired value differs from the observed one, in name order."""
    return [
        Step(target, name, observed.get(name), int(value))
        for name, value in sorted(desired.items())
        if observed.get(name) != value
    ]


def rollback_steps(target: str, observed: State, recorded: State) -> list[Step]:
    """The steps that take the observed state back to one recorded before an apply."""
    return plan_steps(target, observed, recorded)
