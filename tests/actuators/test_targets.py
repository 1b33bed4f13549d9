"""What each kind of target is asked to set, and in an order that stays valid."""

import pytest

from actuators.base import Step, plan_steps
from actuators.targets import desired_state, order_steps

POOLS = [{"on_demand": 1, "spot": 3}, {"on_demand": 1, "spot": 7}, {"on_demand": 2}]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("k8s_deployment", {"replicas": 4}),
        ("k8s_hpa", {"min_replicas": 4, "max_replicas": 8}),
        ("keda_scaled_object", {"min_replica_count": 4, "max_replica_count": 8}),
        (
            "aws_asg",
            {
                "desired_capacity": 4,
                "min_size": 2,
                "max_size": 8,
                "on_demand_base_capacity": 1,
                "on_demand_percentage_above_base": 0,
            },
        ),
        ("sagemaker_variant", {"desired_instance_count": 4}),
    ],
)
def test_each_kind_gets_the_first_interval_and_the_horizons_bounds(kind, expected):
    assert desired_state(kind, POOLS) == expected


def test_provisioned_concurrency_follows_littles_law():
    state = desired_state(
        "lambda_alias", POOLS, serverless_rps=[12.5, 0, 0], serverless_duration_ms=300
    )
    assert state == {"provisioned_concurrency": 4}  # 12.5 rps x 0.3 s = 3.75 -> 4


def test_the_alb_route_gets_the_serverless_share_as_a_whole_percent_weight():
    state = desired_state("aws_alb_route", POOLS, serverless_share=0.231)
    assert state == {"serverless_weight": 24}
    assert desired_state("aws_alb_route", POOLS) == {"serverless_weight": 0}


def test_an_unknown_kind_is_named():
    with pytest.raises(ValueError, match="kind: unknown target kind 'nomad_job'"):
        desired_state("nomad_job", POOLS)


def names(steps):
    return [s.setting for s in steps]


def test_growing_raises_the_maximum_first_and_shrinking_lowers_the_minimum_first():
    observed = {"desired_capacity": 2, "min_size": 2, "max_size": 2}
    grow = plan_steps("asg", observed, {"desired_capacity": 6, "min_size": 4, "max_size": 8})
    assert names(order_steps(grow, observed)) == ["max_size", "desired_capacity", "min_size"]
    observed = {"desired_capacity": 6, "min_size": 4, "max_size": 8}
    shrink = plan_steps("asg", observed, {"desired_capacity": 2, "min_size": 1, "max_size": 3})
    assert names(order_steps(shrink, observed)) == ["min_size", "desired_capacity", "max_size"]
    hpa = [Step("hpa", "min_replicas", 2, 9), Step("hpa", "max_replicas", 5, 12)]
    assert names(order_steps(hpa, {"min_replicas": 2, "max_replicas": 5})) == [
        "max_replicas",
        "min_replicas",
    ]


@pytest.mark.parametrize(
    ("kind", "pool", "expected"),
    [
        ("k8s_deployment", "spot", {"replicas": 3}),
        ("k8s_deployment", "on_demand", {"replicas": 1}),
        ("k8s_hpa", "spot", {"min_replicas": 3, "max_replicas": 7}),
        ("keda_scaled_object", "on_demand", {"min_replica_count": 1, "max_replica_count": 2}),
    ],
)
def test_an_object_carrying_one_pool_counts_only_that_pools_replicas(kind, pool, expected):
    assert desired_state(kind, POOLS, pool=pool) == expected


def test_only_kubernetes_objects_carry_one_pool():
    with pytest.raises(ValueError, match="pool: a aws_asg carries every pool"):
        desired_state("aws_asg", POOLS, pool="spot")
