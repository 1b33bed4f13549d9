"""A batch plan's schedule replayed in the simulator's spot world (`replay_schedule`)."""

import numpy as np
import pytest

from optimization.batch import BatchJob, batch_front, plan_batch
from optimization.problem import Offer
from policies.scenario import load_scenario
from simulation.batch import planned_night, replay_schedule, run_planned_nights
from simulation.compare import build_policy
from tests.simulation.conftest import make_context, make_load

ON_DEMAND = Offer("g5.xlarge/on_demand", "g5.xlarge", "on_demand", 1.006, boot_delay_s=240)


def spot(hazard_per_hour):
    return Offer("g5.xlarge/spot", "g5.xlarge", "spot", 0.4125, 240, hazard_per_hour)


JOB = BatchJob("embed", 400_000, 8 * 3600, 900, {"g5.xlarge": 20.0}, max_replicas=10)


def test_on_demand_is_replayed_exactly_as_planned_boots_included():
    plan = plan_batch(JOB, [ON_DEMAND])
    replay = replay_schedule(plan, [ON_DEMAND], JOB, runs=50)
    assert replay["sla_violation_rate"] == 0.0 and replay["interruptions_per_run"] == 0.0
    assert replay["items_done_mean"] == pytest.approx(plan.expected_items)
    assert replay["cost_per_day_usd"] == pytest.approx(plan.cost_usd)


def test_a_boot_is_work_lost_and_the_planner_counts_it():
    plan = plan_batch(JOB, [ON_DEMAND])
    started = replay_schedule(plan, [ON_DEMAND], JOB, runs=10)
    no_boot = JOB.items_per_s["g5.xlarge"] * JOB.interval_s * plan.counts.sum()
    assert started["items_done_mean"] < no_boot  # every replica's boot costs its work
    assert started["items_done_mean"] >= JOB.items  # which the planner counted


def test_frequent_reclaims_make_an_expectation_only_spot_plan_late_and_spare_work_fixes_it():
    offers = (ON_DEMAND, spot(0.05))  # a pool reclaimed about once in 20 replica-hours
    front = batch_front({"embedder": JOB}, offers)
    replays = {
        (margin, "g5.xlarge/spot" in p.offer_names): replay_schedule(p, offers, JOB, seed=1)
        for _, margin, p in front
    }
    assert replays[(1.0, True)]["sla_violation_rate"] > 0.05
    assert replays[(1.0, True)]["interruptions_per_run"] > 0
    assert replays[(1.1, True)]["sla_violation_rate"] <= 0.01
    assert replays[(1.0, False)]["sla_violation_rate"] == 0.0  # on-demand alone
    costs = [p.cost_usd for _, _, p in front]
    assert costs == sorted(costs)


def test_the_replay_is_seeded():
    offers = (ON_DEMAND, spot(0.05))
    plan = plan_batch(JOB, offers)
    assert replay_schedule(plan, offers, JOB, seed=3) == replay_schedule(plan, offers, JOB, seed=3)
    assert np.isfinite(replay_schedule(plan, offers, JOB, seed=4)["items_done_p01"])


def test_the_deployed_ballast_runs_the_nightly_batch_the_plans_app_would_propose():
    scenario = load_scenario(None)
    itype = scenario.instance(scenario.batch.instance_type)
    plan, offers, job = planned_night(scenario.batch, itype)
    # The same job, offers and choice as a plan: the cheapest candidate within 1 % of misses.
    front = batch_front({"batch": job}, offers)
    replays = [replay_schedule(p, offers, job) for _, _, p in front]
    within = [p.cost_usd for (_, _, p), r in zip(front, replays, strict=True)
              if r["sla_violation_rate"] <= 0.01]  # fmt: skip
    assert plan.cost_usd == min(within)
    spot = offers[[o.purchase_option for o in offers].index("spot")].name
    assert plan.counts[:, plan.offer_names.index(spot)].sum() > 0  # checkpointed spot pays

    nights = [3600.0 * 24 * d for d in range(30)]
    outcome = run_planned_nights(nights, scenario.batch, itype, np.random.default_rng(0))
    billed = sum(outcome.cost_by_option.values())
    assert billed == pytest.approx(30 * plan.cost_usd)
    assert outcome.nights == 30 and outcome.deadline_misses <= 1
    assert outcome.storage_cost_usd > 0  # spot nights keep their checkpoints


def test_the_simulators_ballast_is_the_deployed_policy_with_the_planned_batch(scenario):
    load = make_load(np.full(120, 50.0))
    ctx = make_context(scenario, load.rps)
    assert build_policy("ballast", ctx, load).batch_option == "planned"
    assert build_policy("ballast_controller", ctx, load).batch_option == "spot"
