"""The fidelity benchmark's pure parts: schedule, scaling, model percentiles, FCFS queue."""

import math

import numpy as np
import pytest

from benchmarks.fidelity_load import (
    Replay,
    model_percentiles_s,
    per_minute_percentiles_s,
    poisson_schedule,
    queued_cycles_s,
    relative_error,
    scale_to_utilization,
    simulate_fcfs_s,
)
from benchmarks.fidelity_ranking import MeasuredLatency, agreement, ranks, served_scenario


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


def test_model_percentiles_take_the_service_cv_and_the_time_outside_the_queue():
    exponential = model_percentiles_s(70.0, 1, 0.01, (99,))
    steady = model_percentiles_s(70.0, 1, 0.01, (99,), service_cv=0.05)
    assert steady[0] < 0.6 * exponential[0]
    shifted = model_percentiles_s(70.0, 1, 0.01, (99,), service_cv=0.05, fixed_s=0.002)
    assert shifted[0] == pytest.approx(steady[0] + 0.002)


def replay_of(sent_ns, start_ns, inference_s):
    n = len(sent_ns)
    nan = np.full(n, np.nan)
    return Replay(
        nan,
        nan,
        np.ones(n, bool),
        np.array(inference_s),
        np.array(start_ns),
        np.array(sent_ns),
        0.0,
        1.0,
    )


def test_a_cycle_counts_only_where_the_next_request_was_already_waiting():
    # second sent during the first's inference: its start gap (9 ms) is a whole cycle;
    # the third was sent after the second finished: the worker idled, no cycle
    ms = 1_000_000
    replay = replay_of(
        sent_ns=[0, 2 * ms, 30 * ms],
        start_ns=[1 * ms, 10 * ms, 31 * ms],
        inference_s=[0.007, 0.007, 0.007],
    )
    assert queued_cycles_s(replay).tolist() == pytest.approx([0.009])


def test_measured_latency_interpolates_between_levels_and_holds_the_top_one():
    measured = MeasuredLatency(
        np.array([0.0, 0.5]), (np.array([0.01, 0.01]), np.array([0.01, 0.1]))
    )
    got = measured.survival(0.05, np.array([0.0, 0.25, 0.5, 0.9]))
    assert got.tolist() == pytest.approx([0.0, 0.25, 0.5, 0.5])


def test_ranks_share_the_better_rank_on_ties():
    assert ranks([0.3, 0.1, 0.3, 0.2]) == [3, 1, 3, 2]


def test_the_served_world_has_one_worker_per_replica_with_the_measured_service():
    sc = served_scenario(7.5, 0.08, load_balancer="round_robin")
    profiles = sc.variant(sc.default_variant).profiles
    assert {(p.workers, p.service_ms, p.service_cv) for p in profiles} == {(1, 7.5, 0.08)}
    assert sc.load_balancer == "round_robin"


def test_agreement_bounds_the_model_by_how_well_repeats_agree():
    names = ["a", "b", "c", "d"]
    repeats = [[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 4.0, 3.0], [1.0, 2.0, 3.0, 4.0]]
    pooled = [1.0, 2.0, 3.5, 3.6]
    model = [2.0, 1.0, 3.0, 4.0]  # swaps a and b, which every repeat orders alike
    agree = agreement(names, model, pooled, repeats)
    assert agree.pairs == 6
    assert agree.resolved == 5  # c and d swap between repeats
    assert agree.misordered == (("b", "a"),)
    assert agree.repeat_taus == pytest.approx((2 / 3, 1.0, 2 / 3))
    assert agree.model_tau == pytest.approx(2 / 3)
    assert agree.within_noise  # 2/3 is the repeats' median
    worse = agreement(names, [4.0, 3.0, 2.0, 1.0], pooled, repeats)
    assert not worse.within_noise
    assert len(worse.misordered) == 5


def test_agreement_needs_two_repeats():
    with pytest.raises(ValueError, match="two repeats"):
        agreement(["a", "b"], [1.0, 2.0], [1.0, 2.0], [[1.0, 2.0]])
