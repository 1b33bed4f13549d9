import numpy as np
import pytest

from optimization.batch import BatchJob, plan_batch
from optimization.layout import InfeasibleProblem
from optimization.problem import Offer
from optimization.serverless import FunctionProfile, duration_ms, size_serverless

OFFERS = (
    Offer("g5.xlarge/on_demand", "g5.xlarge", "on_demand", 1.006, boot_delay_s=240),
    Offer("g5.xlarge/spot", "g5.xlarge", "spot", 0.4125, boot_delay_s=240,
          interruption_rate_per_hour=4.9e-4),
)  # fmt: skip


def job(items, deadline_s):
    return BatchJob("embed", items, deadline_s, 900, {"g5.xlarge": 20.0}, max_replicas=10)


def test_batch_plan_finishes_in_expectation_on_cheap_spot():
    plan = plan_batch(job(400_000, 8 * 3600), OFFERS)
    assert plan.expected_items >= 400_000
    spot = plan.offer_names.index("g5.xlarge/spot")
    assert plan.counts[:, spot].sum() > 0
    assert plan.expected_interruption_loss_items > 0


def test_batch_switches_to_on_demand_near_the_deadline():
    plan = plan_batch(job(400_000, 8 * 3600), OFFERS)
    spot = plan.offer_names.index("g5.xlarge/spot")
    assert (plan.counts[plan.spot_allowed_until_interval :, spot] == 0).all()
    tight = plan_batch(job(50_000, 1200), OFFERS)  # boot + checkpoint no longer fit
    assert tight.counts[:, spot].sum() == 0 and tight.expected_items >= 50_000


def test_impossible_deadline_names_it():
    with pytest.raises(InfeasibleProblem, match="deadline_s"):
        plan_batch(job(10_000_000, 3600), OFFERS)


def test_serverless_size_is_the_cheapest_that_meets_the_target():
    profile = FunctionProfile(cpu_ms_at_1_vcpu=400.0, io_ms=20.0, parallelism=2, min_memory_mb=1024)
    sizing = size_serverless(profile, latency_target_ms=300.0)
    assert sizing.duration_ms <= 300.0
    smaller = np.arange(1024, sizing.memory_mb)
    assert (duration_ms(profile, smaller) > 300.0).all()


def test_unreachable_latency_target_is_named():
    profile = FunctionProfile(cpu_ms_at_1_vcpu=400.0, io_ms=250.0)
    with pytest.raises(InfeasibleProblem, match="latency_target_ms"):
        size_serverless(profile, latency_target_ms=300.0)


def test_batch_keeps_a_floor_in_every_interval_and_steps_no_faster_than_allowed():
    free = plan_batch(job(400_000, 8 * 3600), OFFERS)
    held = plan_batch(
        BatchJob(
            "embed", 400_000, 8 * 3600, 900, {"g5.xlarge": 20.0}, max_replicas=10,
            min_replicas=1, max_change_per_interval=1,
        ),
        OFFERS,
    )  # fmt: skip
    fleet = held.counts.sum(axis=1)
    assert free.counts.sum(axis=1).min() == 0  # unconstrained, some interval runs nothing
    assert fleet.min() >= 1
    assert np.abs(np.diff(np.concatenate([[0], fleet]))).max() <= 1
    assert held.expected_items >= 400_000 and held.cost_usd >= free.cost_usd
