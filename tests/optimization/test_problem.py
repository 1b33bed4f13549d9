import dataclasses
import json
import math

import pytest

from optimization.layout import InfeasibleProblem
from optimization.problem import Offer, problem_from_dict, problem_to_dict
from optimization.solver import solve


def as_dict(problem):
    return json.loads(json.dumps(problem_to_dict(problem)))


def test_problem_round_trips_through_json(medium_problem):
    again = problem_from_dict(as_dict(medium_problem))
    assert problem_to_dict(again) == problem_to_dict(medium_problem)


@pytest.mark.parametrize("price", [-0.01, math.nan, math.inf])
def test_bad_offer_price_is_refused_by_name(price):
    with pytest.raises(ValueError, match="price_per_hour_usd"):
        Offer("a/on_demand", "a", "on_demand", price)


def test_nan_in_json_demand_is_refused(small_problem):
    data = as_dict(small_problem)
    data["demand"]["rps"][0][0] = float("nan")
    with pytest.raises(ValueError, match="demand"):
        problem_from_dict(data)


def test_empty_offers_are_refused(small_problem):
    data = as_dict(small_problem)
    data["offers"] = []
    with pytest.raises(ValueError, match="offers must not be empty"):
        problem_from_dict(data)


def test_missing_and_unknown_fields_are_named(small_problem):
    data = as_dict(small_problem)
    del data["sla"]
    with pytest.raises(ValueError, match="'sla'"):
        problem_from_dict(data)
    data = as_dict(small_problem)
    data["constraints"]["max_replica"] = 3
    with pytest.raises(ValueError, match="max_replica"):
        problem_from_dict(data)


def test_unknown_purchase_option_is_refused():
    with pytest.raises(ValueError, match="purchase_option"):
        Offer("a/x", "a", "savings_plan", 1.0)


def with_constraints(problem, initial_replicas=None, **changes):
    return dataclasses.replace(
        problem,
        constraints=dataclasses.replace(problem.constraints, **changes),
        initial_replicas=initial_replicas,
    )


@pytest.mark.parametrize(
    ("changes", "constraint"),
    [
        ({"budget_per_hour_usd": 0.5}, "budget_per_hour_usd"),
        ({"max_replicas": 1}, "max_replicas"),
        ({"min_accuracy": 0.99}, "min_accuracy"),
        ({"allowed_purchase_options": ("reserved",), "min_non_spot_replicas": 10}, "max_count"),
        ({"max_change_per_interval": 1, "initial_replicas": 0}, "max_change_per_interval"),
    ],
)
@pytest.mark.parametrize("method", ["gapso", "exact"])
def test_infeasible_problem_names_the_constraint(small_problem, changes, constraint, method):
    problem = with_constraints(small_problem, **changes)
    with pytest.raises(InfeasibleProblem, match=constraint) as info:
        solve(problem, method=method)
    assert info.value.constraint == constraint
