"""Every policy's state is plain data: saved mid-replay and restored, it decides as before."""

import json

import numpy as np
import pytest

from policies import POLICIES, REFERENCES, make_policy
from policies.scenario import default_scenario
from simulation.replay import replay
from simulation.run import replay_context
from simulation.trace import load_trace
from tests.simulation.conftest import TRACES

STEPS = 150
RESUME_AT = 75  # inside GA-PSO's second plan period and after ballast has scored its candidates


class Resumed:
    """A policy replaced at step `at` by a fresh one restored from its state through JSON."""

    def __init__(self, name, ctx, at):
        self.inner = make_policy(name, ctx)
        self.make = lambda: make_policy(name, ctx)
        self.at = at
        for attr in ("name", "variant", "spills", "batch_option", "serverless_memory_mb"):
            setattr(self, attr, getattr(self.inner, attr))
        self.zero_boot = self.inner.zero_boot
        self.routes_on_the_draw = getattr(self.inner, "routes_on_the_draw", False)

    def decide(self, obs):
        if obs.t == self.at:
            saved = json.loads(json.dumps(self.inner.state()))
            self.inner = self.make()
            self.inner.restore(saved)
        return self.inner.decide(obs)


@pytest.fixture(scope="module")
def nasa_context():
    load = load_trace(TRACES / "nasa_http_1995-07_1min.csv", step_s=60, peak_rps=5000)
    load = type(load)(**{**load.__dict__, "rps": load.rps[:STEPS]})
    return replay_context(load, default_scenario(), seed=3)[0]


@pytest.mark.parametrize("name", [*POLICIES, *REFERENCES])
def test_a_policy_restored_from_its_state_replays_identically(name, nasa_context):
    whole = replay(make_policy(name, nasa_context), nasa_context)
    resumed = replay(Resumed(name, nasa_context, RESUME_AT), nasa_context)
    np.testing.assert_array_equal(resumed.ready, whole.ready)
    np.testing.assert_array_equal(resumed.serverless_rps, whole.serverless_rps)
    assert resumed.cost_by_option == whole.cost_by_option


def test_ballast_without_its_state_decides_otherwise(nasa_context):
    """The test above can fail: ballast restarted from nothing at the same step drifts."""

    class Forgetful(Resumed):
        def decide(self, obs):
            if obs.t == self.at:
                self.inner = self.make()
            return self.inner.decide(obs)

    whole = replay(make_policy("ballast_controller", nasa_context), nasa_context)
    forgetful = replay(Forgetful("ballast_controller", nasa_context, RESUME_AT), nasa_context)
    assert not np.array_equal(forgetful.ready, whole.ready)


def test_ballast_refuses_a_state_of_another_shape(nasa_context):
    policy = make_policy("ballast_controller", nasa_context)
    saved = policy.state()
    saved["candidates"] = saved["candidates"][:3]
    with pytest.raises(ValueError, match="state: 3 candidates saved"):
        policy.restore(saved)
