"""The one interface every actuator implements, on plain data.

An actuator drives one deployment target (a Kubernetes Deployment, an Auto Scaling group, ...):
`describe` reads the observed state, `steps` computes what takes it to the desired state,
`apply` performs one step under an idempotency key (a step already applied under that key is
not applied again), `verify` reads back whether a step took effect, and `rollback` returns to a
state recorded before the first step. `serving` reads what the target has serving and coming
(`Serving`): the live controller's observation of the world (`actuators.serving`).

States are flat mappings of a setting name to an integer (e.g. {"replicas": 4}); a desired state
names only what it sets. Steps set absolute values, never increments, so applying one twice
leaves the target as applying it once did; the key additionally lets an actuator (and the
caller's record) skip a step it has already done. Actuators raise `TransientError` for what a
retry may fix and `PermanentError` for what it cannot. A dry-run actuator never changes its
target: each actuator class enforces that itself, whatever its caller asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

State = Mapping[str, int]
# (ready, pending) replicas per pool, a pool being (instance type, purchase option); "" stands
# for a part the platform does not report (a Deployment's pods run on whatever type was picked).
Serving = dict[tuple[str, str], tuple[int, int]]


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

    def serving(self) -> Serving | None:
        """Replicas serving and coming per pool; None: not observed (dry run, or not readable)."""
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


class ActuatorError(Exception):
    """A step could not be applied; the message says why in words an SRE can act on."""


class TransientError(ActuatorError):
    """Throttling, a timeout, a 5xx or a lost race: retry later, with backoff."""


class PermanentError(ActuatorError):
    """The target is missing, the step is invalid or access is denied: retrying will not help."""
