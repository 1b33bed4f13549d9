"""The service time's coefficient of variation, from a scenario file to sizing and metrics."""

import dataclasses
import json

import numpy as np
import pytest

from policies import make_policy
from policies.scenario import VariantProfile, load_scenario
from policies.sizing import SlaTable, sla_reachable
from simulation.run import replay_context, run_policy
from tests.simulation.conftest import make_load


def with_cv(scenario, cv):
    variants = tuple(
        dataclasses.replace(
            v, profiles=tuple(dataclasses.replace(p, service_cv=cv) for p in v.profiles)
        )
        for v in scenario.variants
    )
    return dataclasses.replace(scenario, variants=variants)


def test_a_scenario_file_gives_a_profile_its_service_cv(tmp_path):
    profile = {"instance_type": "c6i.xlarge", "workers": 4, "service_ms": 12, "service_cv": 0.1}
    variant = {
        "name": "ranker-large",
        "accuracy": 0.93,
        "serverless_ms_at_1769mb": 30,
        "profiles": [profile],
    }
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"online_types": ["c6i.xlarge"], "variants": [variant]}))
    assert load_scenario(path).variant("ranker-large").profile("c6i.xlarge").service_cv == 0.1


def test_the_default_profiles_are_exponential_and_a_negative_cv_is_refused():
    assert {p.service_cv for v in load_scenario().variants for p in v.profiles} == {1.0}
    with pytest.raises(ValueError, match="service_cv must be a finite number >= 0"):
        VariantProfile("c6i.xlarge", 4, 12.0, -0.1)


def test_a_steady_service_carries_more_per_replica_and_reaches_a_tighter_target(scenario):
    steady, exponential = (VariantProfile("c6i.xlarge", 4, 30.0, cv) for cv in (0.1, 1.0))
    assert not sla_reachable(exponential, scenario, 0.002)  # exp(-100 / 30) = 3.6 % late
    assert sla_reachable(steady, scenario, 0.002)
    fast_steady, fast_exp = (VariantProfile("c6i.xlarge", 4, 12.0, cv) for cv in (0.1, 1.0))
    a, b = SlaTable(fast_steady, scenario, 0.002, 8), SlaTable(fast_exp, scenario, 0.002, 8)
    assert (a.max_rate_rps > b.max_rate_rps).all()


def test_the_replays_latency_follows_the_variants_service_cv(scenario):
    rps = 2000 + 1500 * np.sin(np.linspace(0, 6, 240))
    p99 = {}
    for cv in (0.1, 1.0):
        sc = with_cv(scenario, cv)
        ctx, starts = replay_context(make_load(rps), sc, seed=0)
        metrics, _ = run_policy(make_policy("threshold", ctx), ctx, starts)
        p99[cv] = metrics["p99_ms"]
    assert p99[0.1] < p99[1.0]
