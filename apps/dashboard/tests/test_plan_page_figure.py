"""The plan page's front is drawn on axes fitted to its candidates, each point clickable."""

import json

import pytest

from apps.dashboard import figures
from apps.dashboard.figures.plan import fitted_range
from optimization.solution import schedule_from_json
from policies.candidate import PlanCandidate

# Five candidates as make demo draws them: $19.74-21.59 a day, beside a $400 budget.
CLOSE_FRONT = [
    PlanCandidate.from_json({"cost_per_day_usd": usd, "sla_risk": risk})
    for usd, risk in ((19.74, 0.0), (20.10, 0.0), (20.55, 0.0002), (21.02, 0.0004), (21.59, 0.0))
]


def test_the_cost_axis_fits_the_candidates_and_the_far_budget_becomes_an_arrow():
    fig = figures.pareto_figure(CLOSE_FRONT, 0, 0, 20.0, 400.0, allowed_late=0.01)
    low, high = fig["layout"]["yaxis"]["range"]
    assert 19.5 < low < 19.74 and 21.59 < high < 21.8
    assert [s["y0"] for s in fig["layout"]["shapes"]] == [20.0]  # the current cost, on scale
    budget = next(a for a in fig["layout"]["annotations"] if "budget" in a["text"])
    assert budget["showarrow"] and budget["y"] == high and "above this scale" in budget["text"]
    json.dumps(fig, allow_nan=False)


def test_the_risk_axis_never_starts_below_zero():
    fig = figures.pareto_figure(CLOSE_FRONT, None, None, None, None)
    low, high = fig["layout"]["xaxis"]["range"]
    assert low == 0.0 and high > 0.0004


def test_a_budget_within_the_candidates_is_a_line():
    fig = figures.pareto_figure(CLOSE_FRONT, None, None, None, 21.0)
    assert [s["y0"] for s in fig["layout"]["shapes"]] == [21.0]
    assert all(not a.get("showarrow") for a in fig["layout"]["annotations"])


def test_an_sla_limit_right_of_every_candidate_is_an_arrow_on_the_risk_axis():
    fig = figures.pareto_figure(CLOSE_FRONT, None, None, None, None, allowed_late=0.01)
    (label,) = fig["layout"]["annotations"]
    assert label["x"] == fig["layout"]["xaxis"]["range"][1] and "right of" in label["text"]


def test_each_point_carries_its_candidate_index_for_a_click():
    fig = figures.pareto_figure(CLOSE_FRONT, 3, 1, None, None)
    assert fig["data"][0]["customdata"] == [0, 1, 2, 3, 4]
    assert fig["data"][1]["customdata"] == [1] and fig["data"][2]["customdata"] == [3]
    assert fig["layout"]["clickmode"] == "event"


@pytest.mark.parametrize(
    ("values", "floor", "expected"),
    [
        ([], None, (0.0, 1.0)),
        ([10.0, 20.0], None, (9.0, 21.0)),
        ([0.0, 0.001], 0.0, (0.0, 0.0011)),
        ([5.0], None, (4.75, 5.25)),
    ],
)
def test_fitted_range_pads_the_spread_and_keeps_the_floor(values, floor, expected):
    assert fitted_range(values, floor=floor) == pytest.approx(expected)


def test_the_schedule_is_drawn_against_clock_times():
    schedule = schedule_from_json([[{"offer": "c6i.xlarge/spot", "variant": "v", "count": 2}]] * 2)
    fig = figures.schedule_figure(schedule, ["Mon 00:00", "Mon 01:00"])
    assert fig["data"][0]["x"] == ["Mon 00:00", "Mon 01:00"]
    assert fig["layout"]["xaxis"]["type"] == "category"
    assert fig["layout"]["xaxis"]["title"]["text"] == "hour (UTC)"
