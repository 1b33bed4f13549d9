"""The fidelity benchmark's pure parts: schedule, scaling, model percentiles, FCFS queue."""

import math

import numpy as np
import pytest

from benchmarks.fidelity_load import (
    model_percentiles_s,
    per_minute_percentiles_s,
    poisson_schedule,
    relative_error,
    scale_to_utilization,
    simulate_fcfs_s,
)


def test_schedule_is_reproducible_sorted_and_inside_its_minutes():
    a = poisson_schedule([50.0, 100.0], minute_s=60.0, seed=3)
    b = poisson_schedule([50.0, 100.0], minute_s=60.0, seed=3)
    assert np.array_equal(a.send_s, b.send_s)
    assert (np.diff(a.send_s) >= 0).all()
    assert (a.send_s // 60.0 == a.minute).all()


def test_schedule_counts_follow_each_minutes_rate():
    counts = np.bincount(poisson_schedule([50.0, 100.0], 60.0, seed=1).minute)
    assert abs(counts[0] - 3000) < 4 * math.sqrt(3000)
    assert abs(counts[1] - 6000) < 4 * math.sqrt(6000)


def test_scaling_keeps_the_shape_and_hits_the_mean_utilization():
    rates = scale_to_utilization(np.array([1.0, 3.0]), 0.5, servers=2, mean_service_s=0.01)
    assert rates[1] / rates[0] == pytest.approx(3.0)
    assert rates.mean() * 0.01 / 2 == pytest.approx(0.5)


@pytest.mark.parametrize("utilization", [0.0, 1.0])
def test_scaling_refuses_a_utilization_outside_zero_one(utilization):
    with pytest.raises(ValueError, match="utilization"):
        scale_to_utilization(np.array([1.0]), utilization, servers=1, mean_service_s=0.01)


def test_model_percentiles_match_mm1_closed_form():
    # M/M/1 response time is exponential with rate mu - lambda.
    mu, lam = 100.0, 70.0
    got = model_percentiles_s(lam, servers=1, mean_service_s=1 / mu, percentiles=(50, 99))
    want = [math.log(2) / (mu - lam), math.log(100) / (mu - lam)]
    assert got == pytest.approx(want, rel=1e-6)


def test_fcfs_queue_serves_in_order_on_the_first_free_server():
    send = np.array([0.0, 0.0, 0.0])
    service = np.ones(3)
    assert simulate_fcfs_s(send, service, servers=1).tolist() == [1.0, 2.0, 3.0]
    assert simulate_fcfs_s(send, service, servers=2).tolist() == [1.0, 1.0, 2.0]


def test_per_minute_percentiles_leave_an_empty_minute_nan():
    out = per_minute_percentiles_s(np.array([0, 0]), np.array([1.0, 3.0]), 2, (50.0,))
    assert out[0, 0] == 2.0 and math.isnan(out[1, 0])


def test_relative_error_is_positive_where_the_model_is_pessimistic():
    assert relative_error(np.array([1.2]), np.array([1.0])) == pytest.approx([0.2])
