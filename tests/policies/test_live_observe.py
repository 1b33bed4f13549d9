"""`policies.live.observe`: the replicas a live step sees, observed or taken from the decision."""

import numpy as np

from policies.live import observe

POOL = ("c6i.xlarge", "spot")
CAPACITY = {POOL: 100.0}


def test_without_an_observation_the_last_decisions_replicas_are_all_ready():
    obs = observe(3, 60, np.array([450.0]), CAPACITY, {POOL: 5})
    assert obs.counts == {POOL: (5, 0)}
    assert (obs.capacity_rps, obs.served_rps, obs.utilization) == (500.0, 450.0, 0.9)


def test_observed_replicas_replace_the_decisions_and_only_ready_ones_carry_load():
    obs = observe(3, 60, np.array([450.0]), CAPACITY, {POOL: 5}, observed={POOL: (2, 3)})
    assert obs.counts == {POOL: (2, 3)} and obs.replicas(POOL) == 5
    assert (obs.capacity_rps, obs.served_rps, obs.utilization) == (200.0, 200.0, 1.0)


def test_an_observation_of_nothing_serving_is_not_the_decision():
    obs = observe(3, 60, np.array([450.0]), CAPACITY, {POOL: 5}, observed={})
    assert obs.counts == {} and obs.capacity_rps == 0.0 and obs.utilization == 1.0
