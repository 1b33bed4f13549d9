"""Figures are pure functions of plain data, JSON-ready, in the Okabe-Ito palette."""

import json
from dataclasses import replace

import numpy as np
import pytest

from apps.dashboard import figures
from optimization.solution import schedule_from_json
from policies.candidate import PlanCandidate

FRONT = [
    PlanCandidate.from_json({"demand_quantile": q, "cost_per_day_usd": usd, "sla_risk": risk})
    for q, usd, risk in ((0.5, 10.0, 0.05), (0.9, 14.0, 0.01), (0.99, 20.0, 0.001))
]


def names(figure):
    return [trace["name"] for trace in figure["data"]]


def test_pareto_figure_marks_every_candidate_the_knee_the_choice_now_and_the_budget():
    fig = figures.pareto_figure(FRONT, 2, 1, current_cost_per_day=12.0, budget_per_day=18.0)
    assert names(fig) == ["candidates", "recommended", "chosen"]
    assert fig["data"][0]["y"] == [10.0, 14.0, 20.0]
    assert fig["data"][1]["x"] == [0.01] and fig["data"][2]["y"] == [20.0]
    assert [s["y0"] for s in fig["layout"]["shapes"]] == [12.0, 18.0]
    json.dumps(fig, allow_nan=False)


def test_a_replayed_candidate_is_placed_where_its_replay_put_it():
    replayed = {"cost_per_day_usd": 16.5, "sla_violation_rate": 0.004}
    front = [replace(FRONT[0], measured=replayed, margin=2.0), FRONT[1]]
    fig = figures.pareto_figure(front, None, None, None, None)
    assert fig["data"][0]["y"] == [16.5, 14.0] and fig["data"][0]["x"] == [0.004, 0.01]
    assert "(replayed)" in fig["data"][0]["text"][0] and "x2" in fig["data"][0]["text"][0]
    assert "(planned)" in fig["data"][0]["text"][1]


def test_pareto_figure_leaves_out_what_is_unknown():
    fig = figures.pareto_figure(FRONT, None, None, None, None)
    assert names(fig) == ["candidates"] and fig["layout"]["shapes"] == []


def test_schedule_figure_stacks_replicas_by_offer_and_variant():
    schedule = schedule_from_json(
        [
            [{"offer": "c6i.xlarge/on_demand", "variant": "small", "count": 2}],
            [
                {"offer": "c6i.xlarge/on_demand", "variant": "small", "count": 1},
                {"offer": "c6i.xlarge/spot", "variant": "small", "count": 3},
            ],
        ]
    )
    fig = figures.schedule_figure(schedule)
    assert fig["layout"]["barmode"] == "stack"
    assert {t["name"]: t["y"] for t in fig["data"]} == {
        "small on c6i.xlarge/on_demand": [2, 1],
        "small on c6i.xlarge/spot": [0, 3],
    }


def test_traffic_figure_downsamples_history_and_draws_bands_and_capacity():
    x = 1_800_000_000 + 60 * np.arange(43_200.0)
    forecast = {
        "epoch_s": x[-1] + 60 * np.arange(1, 4),
        "mean": np.ones(3),
        "quantiles": {0.5: np.ones(3), 0.9: np.full(3, 2.0), 0.99: np.full(3, 3.0)},
    }
    capacity = [{"epoch_s": x, "capacity_rps": np.full(len(x), 5.0), "label": "provisioned"}]
    fig = figures.traffic_figure(
        x, np.random.default_rng(0).random(len(x)), forecast=forecast, capacity=capacity
    )
    assert names(fig) == ["observed", "forecast p50", "forecast p90", "forecast p99", "provisioned"]
    assert len(fig["data"][0]["x"]) == 2000
    assert fig["data"][0]["x"][0] == "2027-01-15T08:00:00"
    assert fig["data"][4]["y"] == [5.0, 5.0]  # a constant step: its ends only
    json.dumps(fig, allow_nan=False)


def test_unknown_values_become_gaps_so_the_json_stays_valid():
    fig = figures.latency_figure(
        {"modelled": (np.arange(4.0), np.array([1.0, np.nan, 3.0, np.inf]))},
        target_ms=2,
        percentile=99,
    )
    assert fig["data"][0]["y"] == [1.0, 3.0]  # steps without a model are left out
    unknown = [
        {"epoch_s": np.arange(4.0), "capacity_rps": np.array([np.nan, np.nan, 2, 2]), "label": "c"}
    ]
    fig = figures.traffic_figure(np.arange(4.0), np.ones(4), capacity=unknown)
    assert fig["data"][1]["y"] == [None, 2.0, 2.0]  # a gap, then the step
    json.dumps(fig, allow_nan=False)


def test_every_colour_comes_from_the_okabe_ito_palette():
    fig = figures.pareto_figure(FRONT, 0, 1, 5.0, 30.0)
    used = {t["marker"]["color"] for t in fig["data"]} | {
        s["line"]["color"] for s in fig["layout"]["shapes"]
    }
    assert used <= set(figures.OKABE_ITO) | {figures.GREY}


def test_control_figure_steps_each_pool_and_draws_the_load_on_its_own_axis():
    from apps.dashboard.figures import control_figure

    decisions = [
        {"epoch_s": 0, "demand_rps": 100.0, "pools": {"c6i.xlarge spot": 2}},
        {
            "epoch_s": 60,
            "demand_rps": 300.0,
            "pools": {"c6i.xlarge spot": 3, "m5.large on-demand": 1},
        },
    ]
    figure = control_figure(decisions)
    names = [trace["name"] for trace in figure["data"]]
    assert names == ["c6i.xlarge spot", "m5.large on-demand", "load seen (requests/s)"]
    assert figure["data"][1]["y"] == [0, 1] and figure["data"][0]["line"]["shape"] == "hv"
    assert figure["data"][2]["yaxis"] == "y2"
    assert figure["layout"]["yaxis2"]["title"]["text"] == "requests/s"


def test_a_trace_the_pages_plotly_bundle_cannot_draw_is_refused():
    from django.template import Context, Template

    page = Template("{% load units %}{{ fig|drawable|json_script }}")
    drawn = page.render(Context({"fig": figures.pareto_figure(FRONT, 0, 1, 5.0, 30.0)}))
    assert drawn.startswith('<script type="application/json">')
    with pytest.raises(ValueError, match="'heatmap' is not in the pages' plotly.js bundle"):
        page.render(Context({"fig": {"data": [{"type": "heatmap", "z": [[1]]}], "layout": {}}}))
