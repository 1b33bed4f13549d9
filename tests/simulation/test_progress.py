"""The simulator's progress callback: fine-grained, rising, weighed by policy, and harmless."""

import numpy as np

from simulation.compare import REPLAY_WEIGHT, compare_policies
from simulation.replay import PROGRESS_EVERY_STEPS

from .conftest import make_load


def test_a_comparison_reports_rising_progress_within_each_replay_and_ends_at_one(scenario):
    steps = 3 * PROGRESS_EVERY_STEPS
    load = make_load(50 + 20 * np.sin(np.arange(steps) / 60))
    seen: list[float] = []

    result = compare_policies(load, scenario, ["threshold", "hpa"], progress=seen.append)

    assert seen == sorted(seen) and seen[0] == 0.0 and seen[-1] == 1.0
    # Three reports inside each replay and one after each policy, not one jump per policy.
    assert len(seen) == 2 * (3 + 1) and 0 < seen[1] < 0.5
    assert result == compare_policies(load, scenario, ["threshold", "hpa"])  # same output


def test_a_heavier_policy_takes_its_weight_of_the_progress(scenario):
    load = make_load(np.full(PROGRESS_EVERY_STEPS, 40.0))
    seen: list[float] = []

    compare_policies(load, scenario, ["threshold", "cost_aware"], progress=seen.append)

    after_threshold = 1 / (1 + REPLAY_WEIGHT["cost_aware"])
    assert any(abs(f - after_threshold) < 1e-9 for f in seen)
