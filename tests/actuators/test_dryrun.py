"""The dry-run actuator: steps from observed to desired, once per key, read back, reversible."""

from actuators.base import Step, plan_steps, rollback_steps
from actuators.dryrun import DryRunActuator


def test_steps_cover_only_the_settings_that_differ():
    steps = plan_steps(
        "k8s:ml/ranker", {"replicas": 3, "on_demand_base": 1}, {"replicas": 5, "on_demand_base": 1}
    )
    assert steps == [Step("k8s:ml/ranker", "replicas", 3, 5)]


def test_a_step_is_recorded_once_per_key_and_verified():
    actuator = DryRunActuator("k8s:ml/ranker", {"replicas": 3})
    step = Step("k8s:ml/ranker", "replicas", 3, 5)
    first = actuator.apply(step, "plan-1/replicas")
    again = actuator.apply(step, "plan-1/replicas")
    assert first.applied and first.dry_run and not again.applied
    assert actuator.verify(step) and actuator.describe() == {"replicas": 5}
    assert len(actuator.journal) == 1


def test_rollback_returns_to_the_recorded_state():
    actuator = DryRunActuator("asg:ranker", {"replicas": 2, "on_demand_base": 2})
    recorded = actuator.describe()
    for i, step in enumerate(
        plan_steps("asg:ranker", recorded, {"replicas": 6, "on_demand_base": 1})
    ):
        actuator.apply(step, f"apply-{i}")
    for i, step in enumerate(rollback_steps("asg:ranker", actuator.describe(), recorded)):
        actuator.apply(step, f"rollback-{i}")
    assert actuator.describe() == recorded
