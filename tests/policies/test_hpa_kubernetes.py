"""Kubernetes' own HPA test cases, ported and pinned against Ballast's hpa (issue #25).

Each test repeats one case of the Kubernetes HPA controller's Go tests, with the same inputs,
and asserts Kubernetes' expected replica count. Sources, read from github.com/kubernetes/kubernetes:

- pkg/controller/podautoscaler/replica_calculator_test.go at commit
  5f3bc7cdab9b2544f0389b9a83c88fa15b793b7a;
- pkg/controller/podautoscaler/horizontal_test.go at commit
  4e62298c1bd12c8b9b9c7337aa7fd07a8b9c37a8.
Each docstring names its Go test and the file at the commit's first 12 digits.

Only the cases Ballast's hpa answers as Kubernetes does are here. The cases it answers
differently, or cannot be asked (min/max replicas, `spec.behavior`, missing metrics, pods that
are not ready on a scale-down), are left out: pinning them would pin a divergence (issue #25).

How a Go case becomes Ballast's inputs: every pod requests one replica's worth, so a pod at
`level` millicores of a 1000m request uses `level / 1000` of a replica, and Kubernetes' CPU
target in percent is `HPA(target=percent / 100)`. Ballast's `served_rps` is the ready pods'
summed usage times a replica's capacity; a pod that is not ready is a pending replica (it serves
nothing, as Kubernetes drops an unready pod's metric). Failed and deleted pods, which Kubernetes
ignores, are not in Ballast's counts at all. Kubernetes truncates utilization to whole percents;
none of the cases below sits near a boundary where that changes the answer.
"""

import numpy as np
import pytest

from policies.base import Observation
from policies.hpa import HPA
from tests.simulation.conftest import make_context

SYNC_S = 15  # Kubernetes' default --horizontal-pod-autoscaler-sync-period: one sync per step


def make_hpa(scenario, target_percent):
    """Ballast's hpa at a CPU target in percent, stepping once per 15 s sync."""
    ctx = make_context(scenario, np.full(8, 1.0), step_s=SYNC_S)
    return HPA(ctx, target=target_percent / 100)


def observe_pods(hpa, *, ready, pending=0, used_replicas):
    """The observation of one sync: `used_replicas` is the ready pods' summed usage/request."""
    return Observation(
        t=1,  # any sync after the first step (step 0 sizes from demand instead)
        step_s=SYNC_S,
        history_rps=np.array([1.0]),
        demand_rps=1.0,
        served_rps=used_replicas * hpa.profile.capacity_rps,
        capacity_rps=0.0,
        utilization=0.0,
        backlog=0.0,
        counts={hpa.pool: (ready, pending)},
        reserved={},
    )


def recommend(scenario, target_percent, *, ready, pending=0, used_replicas):
    """The replica calculator alone: Ballast's `HPA.recommend` (GetResourceReplicas)."""
    hpa = make_hpa(scenario, target_percent)
    obs = observe_pods(hpa, ready=ready, pending=pending, used_replicas=used_replicas)
    return hpa.recommend(obs, ready, ready + pending)


def decide(scenario, target_percent, *, ready, used_replicas, window=None):
    """One whole sync: recommend, stabilize, limit (reconcileAutoscaler)."""
    hpa = make_hpa(scenario, target_percent)
    if window is not None:
        hpa.restore({"window": window, "desired": 0})
    obs = observe_pods(hpa, ready=ready, used_replicas=used_replicas)
    return hpa.decide(obs).desired[hpa.pool]


def recommendation_log(entries):
    """Ballast's per-sync window from Kubernetes' timestamped recommendations.

    `entries` are (replicas, seconds ago); syncs with no recommendation in the Go log hold 1,
    the smallest count, so they never win the window's maximum. Ballast's window keeps the last
    300 s of 15 s syncs, so an entry 9 or 10 minutes old falls out, as Kubernetes drops it.
    """
    syncs = 40  # 10 minutes of syncs, oldest first
    log = [1] * syncs
    for replicas, seconds_ago in entries:
        log[syncs - seconds_ago // SYNC_S] = replicas
    return log


# replica_calculator_test.go: the recommendation of one metric


def test_scale_up_by_the_ratio_of_usage_to_target(scenario):
    """TestReplicaCalcScaleUp, replica_calculator_test.go@5f3bc7cdab9b.

    3 pods requesting 1.0 CPU at 300m, 500m, 700m, target 30 %: utilization 50 %, 3 -> 5.
    """
    assert recommend(scenario, 30, ready=3, used_replicas=1.5) == 5


def test_unready_pods_count_zero_on_scale_up(scenario):
    """TestReplicaCalcScaleUpUnreadyLessScale, replica_calculator_test.go@5f3bc7cdab9b.

    3 pods, the first not ready; the ready two at 500m and 700m, target 30 %: the unready pod
    counts 0 %, so 1200m / 3000m = 40 % of a 30 % target, ceil(3 x 1.33) = 4 (not 3 x 2 = 6).
    """
    assert recommend(scenario, 30, ready=2, pending=1, used_replicas=1.2) == 4


def test_unready_pods_can_cancel_a_scale_up(scenario):
    """TestReplicaCalcScaleUpUnreadyNoScale, replica_calculator_test.go@5f3bc7cdab9b.

    3 pods, two not ready; the ready one at 400m, target 30 %: 133 % of target alone, but with
    the unready pods at 0 % it is 400m / 3000m = 13 %, a scale-down, so the count stays 3.
    """
    assert recommend(scenario, 30, ready=1, pending=2, used_replicas=0.4) == 3


def test_failed_pods_are_ignored_on_scale_up(scenario):
    """TestReplicaCalcScaleUpIgnoresFailedPods, replica_calculator_test.go@5f3bc7cdab9b.

    2 running pods at 500m and 700m plus 2 failed ones, current 2, target 30 %: 2 -> 4.
    (TestReplicaCalcScaleUpIgnoresDeletionPods has the same numbers, with deleted pods.)
    """
    assert recommend(scenario, 30, ready=2, used_replicas=1.2) == 4


def test_scale_down_by_the_ratio_of_usage_to_target(scenario):
    """TestReplicaCalcScaleDown, replica_calculator_test.go@5f3bc7cdab9b.

    5 pods at 100m, 300m, 500m, 250m, 250m, target 50 %: utilization 28 %, ceil(5 x 0.56) = 3.
    """
    assert recommend(scenario, 50, ready=5, used_replicas=1.4) == 3


def test_failed_pods_are_ignored_on_scale_down(scenario):
    """TestReplicaCalcScaleDownIgnoresFailedPods, replica_calculator_test.go@5f3bc7cdab9b.

    The 5 pods of TestReplicaCalcScaleDown plus 2 failed ones: still 5 -> 3.
    (TestReplicaCalcScaleDownIgnoresDeletionPods has the same numbers, with deleted pods.)
    """
    assert recommend(scenario, 50, ready=5, used_replicas=1.4) == 3


def test_no_change_within_the_tolerance(scenario):
    """TestReplicaCalcTolerance, replica_calculator_test.go@5f3bc7cdab9b.

    3 pods requesting 0.9, 1.0, 1.1 CPU (3.0 in all) at 1010m, 1030m, 1020m, target 100 %:
    102 %, inside the 0.1 tolerance, so 3 stays 3.
    """
    assert recommend(scenario, 100, ready=3, used_replicas=3.06) == 3


@pytest.mark.parametrize(("target_percent", "expected"), [(56, 9), (55, 10)])
def test_tolerance_boundary_from_the_computed_target(scenario, target_percent, expected):
    """TestReplicaCalcComputedToleranceAlgImplementation, replica_calculator_test.go@5f3bc7cdab9b.

    10 pods at 150m of 3000m requested in all (50 %). The target int32((1 / (2 x 0.9) + 0.01)
    x 100) = 56 % gives a ratio of 0.893, just past the tolerance: ceil(8.93) = 9. The second
    half, + 0.004 instead (55 %), gives 0.909, inside it: 10 stays 10.
    """
    assert recommend(scenario, target_percent, ready=10, used_replicas=5.0) == expected


# horizontal_test.go: a whole sync of the controller


def test_one_pod_at_twice_its_target_doubles(scenario):
    """TestEventCreated, horizontal_test.go@4e62298c1bd1.

    min 1, max 5, 1 replica; one pod requesting 0.2 CPU at 200m, target 50 %: 1 -> 2 (under
    the scale-up limit either way, max(2 x 1, 4) = 4 in Kubernetes).
    """
    assert decide(scenario, 50, ready=1, used_replicas=1.0) == 2


def test_pods_on_target_keep_their_count(scenario):
    """TestEventNotCreated, horizontal_test.go@4e62298c1bd1.

    min 1, max 5, 2 replicas; two pods requesting 0.4 CPU at 200m each, target 50 %: 2 stays 2.
    """
    assert decide(scenario, 50, ready=2, used_replicas=1.0) == 2


@pytest.mark.parametrize(
    ("log", "used_replicas", "expected"),
    [
        pytest.param([], 4.0, 5, id="empty log"),
        pytest.param([(4, 120), (5, 60)], 2.4, 5, id="stabilize"),
        pytest.param([(1, 120), (2, 60)], 2.4, 3, id="no stabilize"),
        pytest.param([(10, 600), (9, 540)], 2.4, 3, id="no stabilize - old recommendations"),
        pytest.param(
            [(10, 600), (4, 60), (5, 120), (9, 540)],
            2.4,
            5,
            id="stabilize - old recommendations",
        ),
    ],
)
def test_scale_down_takes_the_highest_recommendation_of_five_minutes(
    scenario, log, used_replicas, expected
):
    """TestNormalizeDesiredReplicas, horizontal_test.go@4e62298c1bd1.

    With downscaleStabilisationWindow 5 min, a fresh recommendation (5 for the empty log, 3
    otherwise) against the Go test's timestamped log. Kubernetes' case passes no current count
    to stabilizeRecommendation; here 6 replicas at 4.0 / 4.8 or 2.4 / 4.8 of an 80 % target
    recommend ceil(6 x 0.83) = 5 or ceil(6 x 0.5) = 3, so the stabilized count is a scale-down
    or a hold.
    """
    window = recommendation_log(log) if log else None
    assert decide(scenario, 80, ready=6, used_replicas=used_replicas, window=window) == expected


def test_recent_higher_recommendation_holds_a_scale_down(scenario):
    """TestStabilizeDownscale, horizontal_test.go@4e62298c1bd1.

    min 1, max 5, 4 replicas in the scale's status, 3 pods requesting 0.1 CPU at 50m, target
    100 %: recommendation ceil(3 x 0.5) = 2, but 4 was recommended a minute ago (10, ten
    minutes ago, is out of the window), so 4. Ballast sees the 3 pods as its count.
    """
    window = recommendation_log([(10, 600), (4, 60)])
    assert decide(scenario, 100, ready=3, used_replicas=1.5, window=window) == 4
