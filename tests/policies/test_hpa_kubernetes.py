"""Kubernetes' own HPA test cases, ported and pinned against Ballast's hpa (issue #25).

Each test repeats cases of the Kubernetes HPA controller's Go tests, with the same inputs, and
asserts Kubernetes' expected replica count. Sources, read from github.com/kubernetes/kubernetes:

- pkg/controller/podautoscaler/replica_calculator_test.go at commit
  5f3bc7cdab9b2544f0389b9a83c88fa15b793b7a;
- pkg/controller/podautoscaler/horizontal_test.go at commit
  4e62298c1bd12c8b9b9c7337aa7fd07a8b9c37a8.
Each docstring or case id names its Go test and the file at the commit's first 12 digits.

How a Go case becomes Ballast's inputs: a pod's usage is counted in its own requests, so pods
at 300m, 500m and 700m of 1.0 CPU each use 1.5 pods' worth; Kubernetes' utilization is a ratio
of sums, so pods with uneven requests (0.9, 1.0, 1.1) read the same. Kubernetes' CPU target in
percent is `target=percent / 100`. A pod that is not ready, or Pending, is `unready` (its
metric is dropped); a ready pod without a metric is `missing`; failed and deleted pods, which
Kubernetes ignores, are not counted at all. A whole reconcile (the tests that run the
controller) is `recommend` then `normalize`; a Go case with `recommendations: nil` starts the
log with the current count (recordInitialRecommendation), one with `[]` starts it empty.
Go's tests set `scaleUpLimitFactor = 8` in init(); none of the cases below reaches that limit
except TestConvertDesiredReplicasWithRules' last, whose expectation calls the limit function
itself, so it is ported with the controller's factor of 2.

Times: the Go tests stamp their logs `time.Now() - d` and the code reads `time.Now()` a moment
later; here the sync is at 0 s and an entry `d` ago at `-d`. Go's stabilization log replaces
one stale entry where Ballast drops them all; no count depends on it, so the logs' lengths
(TestNormalizeDesiredReplicas' expectedLogLength) are not ported.
"""

import numpy as np
import pytest

from policies import hpa
from policies.base import Observation
from policies.hpa import HPA, Behavior, History, ScalingPolicy, ScalingRules
from tests.simulation.conftest import make_context

TOLERANCE = 0.1  # defaultTestingTolerance, the controller's default too


def recommend(target_percent, *, ready, unready=0, missing=0, used, current=None):
    """GetResourceReplicas: `used` is the ready pods' usage in pods' worth."""
    current = ready + unready + missing if current is None else current
    return hpa.recommend(ready, unready, missing, used, target_percent / 100, TOLERANCE, current)


def reconcile(current, recommendation, *, min_replicas, max_replicas, behavior=None, log=None):
    """Reconcile after the metrics: `log=None` is Go's nil log, seeded with `current`."""
    recommendations = ((0.0, current),) if log is None else tuple(log)
    desired, _ = hpa.normalize(
        current,
        recommendation,
        History(recommendations),
        min_replicas,
        max_replicas,
        behavior,
        now_s=0.0,
    )
    return desired


def rules(pods, pods_period, percent, percent_period, window, select="Max"):
    """generateScalingRules(pods, podsPeriod, percent, percentPeriod, stabilizationWindow)."""
    policies = []
    if pods:
        policies.append(ScalingPolicy("Pods", pods, pods_period))
    if percent:
        policies.append(ScalingPolicy("Percent", percent, percent_period))
    return ScalingRules(window, tuple(policies), select)


def events_uniform(changes, period_s):
    """generateEventsUniformDistribution: each event mid-segment of the last `period_s`."""
    segment = period_s / len(changes)
    return tuple(
        (-float(int(period_s - segment * (i + 1) + segment / 2)), change)
        for i, change in enumerate(changes)
    )


def make_hpa(scenario, target_percent, **kwargs):
    """Ballast's hpa policy at a CPU target in percent, one 15 s sync per step."""
    ctx = make_context(scenario, np.full(8, 1.0), step_s=15)
    return HPA(ctx, target=target_percent / 100, **kwargs)


def sync_once(policy, *, ready, unready=0, used, log=()):
    """One sync of the policy at step 1 on the pods it observes; `log` as (replicas, s ago)."""
    policy.restore(
        {
            "desired": ready + unready,
            "recommendations": [[15.0 - ago, replicas] for replicas, ago in log],
            "scale_up_events": [],
            "scale_down_events": [],
        }
    )
    obs = Observation(
        t=1,
        step_s=15,
        history_rps=np.array([1.0]),
        demand_rps=1.0,
        served_rps=used * policy.profile.capacity_rps,
        capacity_rps=0.0,
        utilization=0.0,
        backlog=0.0,
        counts={policy.pool: (ready, unready)},
        reserved={},
    )
    return policy.decide(obs).desired[policy.pool]


# replica_calculator_test.go@5f3bc7cdab9b: the recommendation of one metric


@pytest.mark.parametrize(
    ("target", "pods", "expected"),
    [
        # 3 pods at 300m, 500m, 700m of 1.0 CPU: 50 % of 30 %, 3 -> 5
        pytest.param(30, {"ready": 3, "used": 1.5}, 5, id="TestReplicaCalcScaleUp"),
        # the first not ready: 1200m / 2000m = 60 %, rebalanced with it at 0 %: 40 %, ceil(4)
        pytest.param(
            30,
            {"ready": 2, "unready": 1, "used": 1.2},
            4,
            id="TestReplicaCalcScaleUpUnreadyLessScale",
        ),
        # two not ready, the ready one at 400m: 133 % of target alone, 13 % with them: hold 3
        pytest.param(
            30,
            {"ready": 1, "unready": 2, "used": 0.4},
            3,
            id="TestReplicaCalcScaleUpUnreadyNoScale",
        ),
        # 2 running at 500m, 700m and 2 failed (or deleted) pods, current 2: 2 -> 4
        pytest.param(
            30, {"ready": 2, "used": 1.2}, 4, id="TestReplicaCalcScaleUpIgnoresFailedPods"
        ),
        pytest.param(
            30, {"ready": 2, "used": 1.2}, 4, id="TestReplicaCalcScaleUpIgnoresDeletionPods"
        ),
        # 5 pods at 100m, 300m, 500m, 250m, 250m: 28 % of 50 %, ceil(5 x 0.56) = 3
        pytest.param(50, {"ready": 5, "used": 1.4}, 3, id="TestReplicaCalcScaleDown"),
        pytest.param(
            50, {"ready": 5, "used": 1.4}, 3, id="TestReplicaCalcScaleDownIgnoresFailedPods"
        ),
        pytest.param(
            50, {"ready": 5, "used": 1.4}, 3, id="TestReplicaCalcScaleDownIgnoresDeletionPods"
        ),
        # the last two of those 5 not ready: ignored, not 100 %: 900m / 3000m = 30 %, ceil(1.8)
        pytest.param(
            50,
            {"ready": 3, "unready": 2, "used": 0.9},
            2,
            id="TestReplicaCalcScaleDownIncludeUnreadyPods",
        ),
        # one running pod at 100m and 4 Pending ones: 10 % of 50 % on the one, ceil(0.2)
        pytest.param(
            50,
            {"ready": 1, "unready": 4, "used": 0.1},
            1,
            id="TestReplicaCalcScaleDownExcludeUnscheduledPods",
        ),
        # requests 0.9, 1.0, 1.1 at 1010m, 1030m, 1020m: 102 %, inside the tolerance
        pytest.param(100, {"ready": 3, "used": 3.06}, 3, id="TestReplicaCalcTolerance"),
        # 4 pods, metrics for 400m and 95m: 24 %; the 2 missing at 100 % give 62 %, ceil(2.48)
        pytest.param(
            100, {"ready": 2, "missing": 2, "used": 0.495}, 3, id="TestReplicaCalcMissingMetrics"
        ),
        # 2 pods, one metric at 1000m: 100 %, on target, the missing pod changes nothing
        pytest.param(
            100,
            {"ready": 1, "missing": 1, "used": 1.0},
            2,
            id="TestReplicaCalcMissingMetricsNoChangeEq",
        ),
        # one at 1900m: 190 %; the missing pod at 0 % makes it 95 %, inside the tolerance
        pytest.param(
            100,
            {"ready": 1, "missing": 1, "used": 1.9},
            2,
            id="TestReplicaCalcMissingMetricsNoChangeGt",
        ),
        # one at 600m: 60 %; the missing pod at 100 % makes it 80 %, ceil(1.6) = 2
        pytest.param(
            100,
            {"ready": 1, "missing": 1, "used": 0.6},
            2,
            id="TestReplicaCalcMissingMetricsNoChangeLt",
        ),
        # unready first pod, one ready at 450m, one missing: 90 %; at 100 % for the missing it
        # turns into 145 %, a scale-up: the direction flips, so 3 stays 3
        pytest.param(
            50,
            {"ready": 1, "unready": 1, "missing": 1, "used": 0.45},
            3,
            id="TestReplicaCalcMissingMetricsUnreadyChange",
        ),
        # unready first pod, one ready at 2000m, one missing: 400 %; both at 0 %: 66 %, 3.96
        pytest.param(
            50,
            {"ready": 1, "unready": 1, "missing": 1, "used": 2.0},
            4,
            id="TestReplicaCalcMissingMetricsUnreadyScaleUp",
        ),
        # unready first pod, two at 100m, one missing: 10 %; the missing at 100 %, the unready
        # ignored: 1200m / 3000m = 40 %, ceil(0.8 x 3) = 3
        pytest.param(
            50,
            {"ready": 2, "unready": 1, "missing": 1, "used": 0.2},
            3,
            id="TestReplicaCalcMissingMetricsUnreadyScaleDown",
        ),
    ],
)
def test_the_replica_calculator_recommends_as_kubernetes_does(target, pods, expected):
    """The cases of replica_calculator_test.go@5f3bc7cdab9b named in each id."""
    assert recommend(target, **pods) == expected


@pytest.mark.parametrize(("target_percent", "expected"), [(56, 9), (55, 10)])
def test_tolerance_boundary_from_the_computed_target(target_percent, expected):
    """TestReplicaCalcComputedToleranceAlgImplementation, replica_calculator_test.go@5f3bc7cdab9b.

    10 pods at 150m of 3000m requested in all (50 %). The target int32((1 / (2 x 0.9) + 0.01)
    x 100) = 56 % gives a ratio of 0.893, just past the tolerance: ceil(8.93) = 9. The second
    half, + 0.004 instead (55 %), gives 0.909, inside it: 10 stays 10.
    (TestComputedToleranceAlgImplementation, horizontal_test.go@4e62298c1bd1, has the same
    numbers with min 0 and max 1000.)
    """
    assert recommend(target_percent, ready=10, used=5.0) == expected
    assert reconcile(10, expected, min_replicas=0, max_replicas=1000, log=()) == expected


# horizontal_test.go@4e62298c1bd1: a whole reconcile, without spec.behavior


@pytest.mark.parametrize(
    ("current", "recommendation", "limits", "log", "expected"),
    [
        # 3 pods (0.9, 1.0, 1.1 CPU) at 10m, 95m, 10m, target 90 %: 3 % -> 1, min 2
        pytest.param(3, (90, {"ready": 3, "used": 0.115}), (2, 5), (), 2, id="TestMinReplicas"),
        pytest.param(
            3, (90, {"ready": 3, "used": 0.0}), (2, 5), (), 2, id="TestMinReplicasDesiredZero"
        ),
        pytest.param(
            3, (90, {"ready": 3, "used": 0.0}), (0, 5), (), 0, id="TestZeroMinReplicasDesiredZero"
        ),
        # a target at zero replicas with min 3: scaling is disabled
        pytest.param(0, (90, {"ready": 0, "used": 0.0}), (3, 5), None, 0, id="TestZeroReplicas"),
        # out of [min, max] before any metric is read
        pytest.param(2, (90, {"ready": 0, "used": 0.0}), (3, 5), None, 3, id="TestTooFewReplicas"),
        pytest.param(
            10, (90, {"ready": 0, "used": 0.0}), (3, 5), None, 5, id="TestTooManyReplicas"
        ),
        pytest.param(
            1, (50, {"ready": 4, "used": 0.0}), (2, 6), None, 2, id="TestScaleUpRCImmediately"
        ),
        pytest.param(
            6, (50, {"ready": 3, "used": 18.5}), (2, 5), None, 5, id="TestScaleDownRCImmediately"
        ),
        # 3 pods at 8000m, 9500m, 1000m of 3.0 CPU: 616 % of 90 %, 21 replicas, max 5
        pytest.param(3, (90, {"ready": 3, "used": 18.5}), (2, 5), None, 5, id="TestMaxReplicas"),
        # 4 pods, metrics for 400m and 95m only
        pytest.param(
            4,
            (100, {"ready": 2, "missing": 2, "used": 0.495}),
            (2, 6),
            (),
            3,
            id="TestMissingMetrics",
        ),
        # spec 4, one pod reporting, 200m of 0.2 CPU at a 50 % target: 200 %, ceil(2 x 1)
        pytest.param(4, (50, {"ready": 1, "used": 1.0}, 4), (1, 5), (), 2, id="TestMissingReports"),
        # the 5 pods of TestScaleDown, the last two not ready: ignored on a scale-down
        pytest.param(
            5,
            (50, {"ready": 3, "unready": 2, "used": 0.9}),
            (2, 6),
            (),
            2,
            id="TestScaleDownIncludeUnreadyPods",
        ),
        pytest.param(5, (50, {"ready": 5, "used": 1.4}), (2, 6), (), 3, id="TestScaleDown"),
        # the same with no log yet: the current 5 seeds it and holds the scale-down
        pytest.param(
            5,
            (50, {"ready": 5, "used": 1.4}),
            (2, 6),
            None,
            5,
            id="TestScaleDownStabilizeInitialSize",
        ),
        # spec 4 during a 25 % surge: 5 pods at 500m of 1 CPU, on a 50 % target: stay at spec
        pytest.param(
            4,
            (50, {"ready": 5, "used": 2.5}, 4),
            (1, 8),
            None,
            4,
            id="TestMoreReplicasThanSpecNoScale",
        ),
        # 4 in the scale, 3 pods at 50m of 0.1 CPU on 100 %: 2, but 4 a minute ago (10 is old)
        pytest.param(
            4,
            (100, {"ready": 3, "used": 1.5}, 4),
            (1, 5),
            ((-600.0, 10), (-60.0, 4)),
            4,
            id="TestStabilizeDownscale",
        ),
    ],
)
def test_a_reconcile_without_behavior_sets_what_kubernetes_sets(
    current, recommendation, limits, log, expected
):
    """The cases of horizontal_test.go@4e62298c1bd1 named in each id."""
    target, pods, *spec = recommendation
    wanted = recommend(target, **pods, current=spec[0] if spec else current)
    min_replicas, max_replicas = limits
    got = reconcile(current, wanted, min_replicas=min_replicas, max_replicas=max_replicas, log=log)
    assert got == expected


@pytest.mark.parametrize(
    ("current", "desired", "min_replicas", "max_replicas", "expected"),
    [
        pytest.param(5, 7, 3, 8, 7, id="prenormalized desired replicas within range"),
        pytest.param(3, 1, 2, 8, 2, id="prenormalized desired replicas < minReplicas"),
        pytest.param(1, 0, 0, 10, 0, id="prenormalized desired zeroed replicas within range"),
        pytest.param(20, 1000, 1, 10, 10, id="maxReplicas < scaleUpLimit"),
        pytest.param(3, 1000, 1, 2000, 6, id="scaleUpLimit < maxReplicas: max(2 x 3, 4)"),
    ],
)
def test_without_behavior_scale_up_is_limited_to_twice_or_four(
    current, desired, min_replicas, max_replicas, expected
):
    """TestConvertDesiredReplicasWithRules, horizontal_test.go@4e62298c1bd1."""
    got = reconcile(current, desired, min_replicas=min_replicas, max_replicas=max_replicas, log=())
    assert got == expected


@pytest.mark.parametrize(
    ("log", "recommendation", "expected"),
    [
        pytest.param((), 5, 5, id="empty log"),
        pytest.param(((-120.0, 4), (-60.0, 5)), 3, 5, id="stabilize"),
        pytest.param(((-120.0, 1), (-60.0, 2)), 3, 3, id="no stabilize"),
        pytest.param(((-600.0, 10), (-540.0, 9)), 3, 3, id="no stabilize - old recommendations"),
        pytest.param(
            ((-600.0, 10), (-60.0, 4), (-120.0, 5), (-540.0, 9)),
            3,
            5,
            id="stabilize - old recommendations",
        ),
    ],
)
def test_scale_down_takes_the_highest_recommendation_of_five_minutes(log, recommendation, expected):
    """TestNormalizeDesiredReplicas, horizontal_test.go@4e62298c1bd1 (a 5-minute window)."""
    stabilized, _ = hpa.stabilize(recommendation, History(log), 300.0, 0.0)
    assert stabilized == expected


# horizontal_test.go@4e62298c1bd1: spec.behavior


@pytest.mark.parametrize(
    ("max_replicas", "expected"),
    [
        pytest.param(100, 24, id="TestUpscaleCap"),
        pytest.param(20, 20, id="TestUpscaleCapGreaterThanMaxReplicas"),
    ],
)
def test_a_percent_policy_caps_the_scale_up(max_replicas, expected):
    """TestUpscaleCap and TestUpscaleCapGreaterThanMaxReplicas, horizontal_test.go@4e62298c1bd1.

    Scale-up Percent 700 per 60 s; 3 pods at 100m, 200m, 300m of 0.1 CPU on a 10 % target:
    200 % recommends 60, the policy allows ceil(3 x 8) = 24, maxReplicas 20 allows 20.
    """
    behavior = Behavior(scale_up=rules(0, 0, 700, 60, 0))
    wanted = recommend(10, ready=3, used=6.0)
    assert wanted == 60
    got = reconcile(3, wanted, min_replicas=1, max_replicas=max_replicas, behavior=behavior)
    assert got == expected


def test_scale_down_with_scale_up_rules_keeps_the_default_scale_down():
    """TestScaleDownWithScalingRules, horizontal_test.go@4e62298c1bd1.

    Scale-up rules Percent 100 per 15 s with a 30 s window; the 5 pods of TestScaleDown: 5 -> 3.
    """
    behavior = Behavior(scale_up=rules(0, 0, 100, 15, 30))
    wanted = recommend(50, ready=5, used=1.4)
    assert reconcile(5, wanted, min_replicas=2, max_replicas=6, behavior=behavior, log=()) == 3


EVENTS_15 = events_uniform([1, 5, 9], 120)  # 15 replicas changed over the last 2 minutes
EVENTS_40 = events_uniform([8, 12, 9, 11], 120)


@pytest.mark.parametrize(
    ("current", "desired", "limits", "up", "down", "history", "expected"),
    [
        pytest.param(5, 7, (3, 8), None, None, None, 7, id="desired replicas within range"),
        pytest.param(3, 1, (2, 8), None, None, None, 2, id="desired replicas < minReplicas"),
        pytest.param(1, 0, (0, 10), None, None, None, 0, id="within range when minReplicas is 0"),
        pytest.param(20, 1000, (1, 10), None, None, None, 10, id="maxReplicas < scaleUpLimit"),
        pytest.param(100, 1000, (100, 150), None, None, None, 150, id="desired more than maximum"),
        pytest.param(
            3,
            1000,
            (1, 2000),
            rules(0, 0, 1, 60, 0),
            None,
            None,
            4,
            id="scaleUpLimit user policies",
        ),
        pytest.param(10, 50, (1, 1000), None, None, None, 20, id="scaleUp with default behavior"),
        pytest.param(
            10, 500, (1, 1000), rules(100, 60, 100, 60, 0), None, None, 110, id="pods > percent"
        ),
        pytest.param(
            10, 500, (1, 1000), rules(2, 60, 100, 60, 0), None, None, 20, id="percent > pods"
        ),
        pytest.param(
            10, 50, (1, 1000), rules(100, 60, 0, 0, 0), None, None, 50, id="large pod policy"
        ),
        pytest.param(
            10, 50, (1, 1000), rules(10000, 60, 0, 0, 0), None, None, 50, id="large percent policy"
        ),
        pytest.param(
            10, 50, (1, 1000), rules(30, 60, 0, 0, 0), None, None, 40, id="pod policy limit"
        ),
        pytest.param(
            10, 50, (1, 1000), rules(0, 0, 200, 60, 0), None, None, 30, id="percent limit"
        ),
        pytest.param(
            100, 2, (1, 1000), None, rules(20, 60, 1, 60, 300), None, 80, id="down percent > pods"
        ),
        pytest.param(
            100, 2, (1, 1000), None, rules(2, 60, 1, 60, 300), None, 98, id="down pods > percent"
        ),
        pytest.param(
            10, 0, (1, 1000), None, rules(100, 60, 0, 0, 300), None, 1, id="down MinReplicas pods"
        ),
        pytest.param(
            10,
            2,
            (5, 1000),
            None,
            rules(0, 0, 100, 60, 300),
            None,
            5,
            id="down MinReplicas percent",
        ),
        pytest.param(10, 2, (1, 1000), None, rules(5, 60, 0, 0, 300), None, 5, id="down pod limit"),
        pytest.param(
            10, 5, (1, 1000), None, rules(0, 0, 50, 60, 300), None, 5, id="down percent limit"
        ),
        pytest.param(
            100,
            500,
            (1, 200),
            rules(300, 60, 0, 0, 0),
            None,
            (EVENTS_15, ()),
            200,
            id="max, pods, events",
        ),
        pytest.param(
            100,
            500,
            (1, 200),
            rules(0, 0, 10000, 60, 0),
            None,
            (EVENTS_15, ()),
            200,
            id="max, %, events",
        ),
        pytest.param(
            100,
            500,
            (1, 1000),
            rules(5, 120, 0, 0, 0),
            None,
            (EVENTS_15, ()),
            100,
            id="recent scale-ups",
        ),
        pytest.param(
            100,
            500,
            (1, 1000),
            rules(150, 120, 0, 0, 0),
            None,
            (EVENTS_15, ()),
            235,
            id="pods, events",
        ),
        pytest.param(
            100,
            500,
            (1, 1000),
            rules(0, 0, 200, 120, 0),
            None,
            (EVENTS_15, ()),
            255,
            id="percent, events",
        ),
        pytest.param(10, 5, (1, 1000), None, None, ((), EVENTS_15), 5, id="down default, events"),
        pytest.param(
            100,
            0,
            (1, 1000),
            None,
            rules(115, 120, 0, 0, 300),
            ((), EVENTS_15),
            1,
            id="down min, pods, ev",
        ),
        pytest.param(
            100,
            0,
            (5, 1000),
            None,
            rules(130, 120, 0, 0, 300),
            ((), EVENTS_15),
            5,
            id="down min 5, pods",
        ),
        pytest.param(
            100,
            2,
            (5, 1000),
            None,
            rules(0, 0, 100, 120, 300),
            ((), EVENTS_15),
            5,
            id="down min 5, %",
        ),
        pytest.param(
            100,
            2,
            (1, 1000),
            None,
            rules(5, 120, 0, 0, 300),
            ((), EVENTS_15),
            100,
            id="down pods, events",
        ),
        pytest.param(
            100,
            0,
            (1, 1000),
            None,
            rules(0, 0, 50, 120, 300),
            ((), events_uniform([2, 4, 6], 120)),
            56,
            id="down percent, events",
        ),
        pytest.param(
            100,
            0,
            (1, 1000),
            None,
            rules(0, 0, 10, 120, 300),
            ((), events_uniform([10, 10, 10], 120)),
            100,
            id="down prevented by events",
        ),
        pytest.param(
            10,
            5,
            (1, 1000),
            None,
            rules(0, 0, 1000, 120, 300),
            ((), events_uniform([10, 10, 10], 120)),
            5,
            id="down still allowed",
        ),
        pytest.param(
            100,
            200,
            (1, 1000),
            rules(1000, 60, 0, 0, 0),
            None,
            (EVENTS_40, ()),
            200,
            id="outdated up",
        ),
        pytest.param(
            100,
            200,
            (1, 1000),
            rules(1000, 120, 100, 60, 0),
            None,
            (EVENTS_40, ()),
            200,
            id="two up, 120",
        ),
        pytest.param(
            100,
            200,
            (1, 1000),
            rules(1000, 30, 100, 60, 0),
            None,
            (EVENTS_40, ()),
            200,
            id="two up, 30",
        ),
        pytest.param(
            100,
            5,
            (1, 1000),
            None,
            rules(1000, 60, 0, 0, 300),
            ((), EVENTS_40),
            5,
            id="outdated down",
        ),
        pytest.param(
            100,
            5,
            (1, 1000),
            None,
            rules(1000, 120, 100, 60, 300),
            ((), EVENTS_40),
            5,
            id="two down, 120",
        ),
        pytest.param(
            100,
            5,
            (1, 1000),
            None,
            rules(1000, 30, 100, 60, 300),
            ((), EVENTS_40),
            5,
            id="two down, 30",
        ),
    ],
)
def test_behavior_policies_limit_the_rate_as_kubernetes_does(
    current, desired, limits, up, down, history, expected
):
    """TestScalingWithRules, horizontal_test.go@4e62298c1bd1, one case per id (names shortened).

    Rules left out (None) take the API server's defaults, as GenerateHPAScaleUpRules(nil) and
    GenerateHPAScaleDownRules(nil) give them. The Go table's case marked `testThis` returns
    before it runs, so it is not ported.
    """
    behavior = Behavior(up or hpa.DEFAULT_SCALE_UP, down or hpa.DEFAULT_SCALE_DOWN)
    up_events, down_events = history or ((), ())
    past = History((), up_events, down_events)
    got = hpa.limit_rate(current, desired, past, *limits, behavior, 0.0)
    assert got == expected


@pytest.mark.parametrize(
    ("select", "current", "up", "expected"),
    [
        pytest.param("Min", 1, True, 2, id="TestCalculateScaleUpLimitWithScalingRules"),
        pytest.param("Min", 5, False, 3, id="TestCalculateScaleDownLimitWithBehaviors"),
    ],
)
def test_select_policy_min_takes_the_smallest_change(select, current, up, expected):
    """horizontal_test.go@4e62298c1bd1: Pods 2 and Percent 50 per 60 s, selectPolicy Min."""
    both = rules(2, 60, 50, 60, 300, select=select)
    assert hpa.scale_limit(current, (), both, 0.0, up=up) == expected


@pytest.mark.parametrize(
    ("log", "current", "recommendation", "windows", "expected"),
    [
        pytest.param((), 100, 5, (0, 0), 5, id="empty recommendations for scaling down"),
        pytest.param(
            ((-120.0, 4), (-60.0, 5)), 100, 3, (0, 180), 5, id="simple scale down stabilization"
        ),
        pytest.param(
            ((-120.0, 4), (-60.0, 5)), 1, 7, (300, 0), 4, id="simple scale up stabilization"
        ),
        pytest.param(
            ((-120.0, 1), (-60.0, 2)), 100, 3, (300, 0), 3, id="no scale down stabilization"
        ),
        pytest.param(((-120.0, 4), (-60.0, 5)), 1, 3, (0, 300), 3, id="no scale up stabilization"),
        pytest.param(
            ((-600.0, 10), (-540.0, 9)), 100, 3, (0, 0), 3, id="no scale down stabilization, reuse"
        ),
        pytest.param(
            ((-600.0, 10), (-540.0, 9)), 1, 100, (0, 0), 100, id="no scale up stabilization, reuse"
        ),
        pytest.param(
            ((-600.0, 10), (-60.0, 4), (-120.0, 5), (-540.0, 9)),
            100,
            3,
            (0, 180),
            5,
            id="scale down stabilization, reuse one of obsolete",
        ),
        pytest.param(
            ((-6000.0, 10), (-60.0, 6), (-120.0, 5), (-180.0, 9)),
            1,
            100,
            (300, 0),
            5,
            id="scale up stabilization, reuse one of obsolete",
        ),
    ],
)
def test_behavior_windows_stabilize_each_direction(log, current, recommendation, windows, expected):
    """TestNormalizeDesiredReplicasWithBehavior, horizontal_test.go@4e62298c1bd1."""
    up_s, down_s = windows
    behavior = Behavior(ScalingRules(up_s, ()), ScalingRules(down_s, ()))
    stabilized, _ = hpa.stabilize_with_behavior(
        current, recommendation, History(log), behavior, 0.0
    )
    assert stabilized == expected


# the policy the simulator runs: one sync on what it observes


def test_one_pod_at_twice_its_target_doubles(scenario):
    """TestEventCreated, horizontal_test.go@4e62298c1bd1.

    min 1, max 5, 1 replica; one pod requesting 0.2 CPU at 200m, target 50 %: 1 -> 2.
    """
    policy = make_hpa(scenario, 50, min_replicas=1, max_replicas=5)
    assert sync_once(policy, ready=1, used=1.0, log=[(1, 0)]) == 2


def test_pods_on_target_keep_their_count(scenario):
    """TestEventNotCreated, horizontal_test.go@4e62298c1bd1.

    min 1, max 5, 2 replicas; two pods requesting 0.4 CPU at 200m each, target 50 %: 2 stays 2.
    """
    policy = make_hpa(scenario, 50, min_replicas=1, max_replicas=5)
    assert sync_once(policy, ready=2, used=1.0, log=[(2, 0)]) == 2


def test_pending_pods_are_ignored_on_a_scale_down(scenario):
    """TestScaleDownIncludeUnreadyPods, horizontal_test.go@4e62298c1bd1, through the policy.

    min 2, max 6; 5 replicas of which 2 pending; the 3 ready at 100m, 300m, 500m: 5 -> 2.
    """
    policy = make_hpa(scenario, 50, min_replicas=2, max_replicas=6)
    assert sync_once(policy, ready=3, unready=2, used=0.9) == 2


def test_a_recent_higher_recommendation_holds_the_policy(scenario):
    """TestStabilizeDownscale, horizontal_test.go@4e62298c1bd1, through the policy.

    3 pods at 50m of 0.1 CPU on 100 % recommend 2; 4 a minute ago holds it (10 is too old).
    Ballast's count is its pods, so the scale's 4 of the Go case is 3 here; the answer is 4.
    """
    policy = make_hpa(scenario, 100, min_replicas=1, max_replicas=5)
    assert sync_once(policy, ready=3, used=1.5, log=[(10, 600), (4, 60)]) == 4
