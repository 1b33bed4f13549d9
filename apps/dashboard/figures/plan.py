"""The plan page's figures: the cost-against-risk front and the chosen schedule."""

import math
from collections.abc import Sequence
from typing import Any

from apps.dashboard.figures.style import (
    GREY,
    Figure,
    base_layout,
    colour,
    finite,
    hlabel,
    hline,
    scatter,
)
from optimization.solution import Schedule
from policies.candidate import PlanCandidate


def solver_name(candidate: PlanCandidate) -> str:
    """Who found a candidate: GA-PSO on cost + SLA ("hybrid") or the MILP on compute cost."""
    return "GA-PSO" if candidate.method == "hybrid" else "MILP"


def pareto_figure(
    front: Sequence[PlanCandidate],
    chosen_index: int | None,
    recommended_index: int | None,
    current_cost_per_day: float | None,
    budget_per_day: float | None,
    allowed_late: float | None = None,
    batch: bool = False,
) -> Figure:
    """Cost per day against the share of requests late for every candidate of a plan.

    Each candidate is placed where its replay put it, else where the allocation model did
    (`PlanCandidate.judged`).

    Args:
        front: the plan's candidates.
        chosen_index: the candidate that would be applied (a filled diamond).
        recommended_index: the one proposed (an open circle around the point).
        current_cost_per_day: what runs now, USD/day (a dashed horizontal line), or None.
        budget_per_day: the guardrail budget, USD/day (a solid vermillion line), or None.
        allowed_late: the share over target the SLA's percentile allows (a dotted vertical line:
            candidates right of it break the SLA), or None.
        batch: a batch plan's: the run's cost against the share of simulated runs that miss
            the deadline.
    """
    placed = [(*c.judged, "replayed" if c.measured else "planned") for c in front]
    cost = [finite(p[0]) for p in placed]
    risk = [finite(p[1]) for p in placed]
    labels = [
        f"candidate {i} ({how}): ${usd:.2f}/day, {late:.3%} late, "
        f"q{c.demand_quantile if c.demand_quantile is not None else ''}, "
        f"ceilings x{c.margin:g}, {solver_name(c)}" + ("" if c.meets_sla else ", breaks the SLA")
        for i, (c, (usd, late, how)) in enumerate(zip(front, placed, strict=True))
    ]
    data: list[dict[str, Any]] = [
        scatter(risk, cost, "candidates", colour(0), mode="markers", text=labels)
    ]
    for index, name, symbol, col in (
        (recommended_index, "recommended", "circle-open", colour(2)),
        (chosen_index, "chosen", "diamond", colour(1)),
    ):
        if index is not None and 0 <= index < len(front):
            trace = scatter([risk[index]], [cost[index]], name, col, mode="markers")
            trace["marker"] = {"color": col, "symbol": symbol, "size": 16, "line": {"width": 3}}
            trace["text"] = [labels[index]]
            data.append(trace)
    shapes, annotations = [], []
    for value, name, col, dash in (
        (current_cost_per_day, "current allocation", GREY, "dash"),
        (budget_per_day, "budget", colour(3), "solid"),
    ):
        if value is not None and math.isfinite(value):
            shapes.append(hline(value, col, dash))
            annotations.append(hlabel(value, f"{name}: ${value:.2f}/day", col))
    if allowed_late is not None:
        line = {"color": colour(3), "dash": "dot", "width": 2}
        shapes.append(
            {
                "type": "line",
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "x0": allowed_late,
                "x1": allowed_late,
                "line": line,
            }
        )
        annotations.append(
            {
                "yref": "paper",
                "y": 1,
                "x": allowed_late,
                "text": f"SLA allows {allowed_late:.2%}",
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "top",
                "font": {"color": colour(3)},
            }
        )
    layout = base_layout(
        "Cost against SLA risk (replayed where measured)",
        "share of simulated runs that miss the deadline"
        if batch
        else "share of requests over the target",
        "USD per run" if batch else "USD/day",
    )
    layout.update(shapes=shapes, annotations=annotations)
    return {"data": data, "layout": layout}


def schedule_figure(schedule: Schedule) -> Figure:
    """Replicas per interval of a candidate's schedule, stacked by offer and variant."""
    keys = sorted({(p.offer, p.variant) for row in schedule for p in row})
    data = []
    for i, (offer, variant) in enumerate(keys):
        counts = [
            sum(p.count for p in row if (p.offer, p.variant) == (offer, variant))
            for row in schedule
        ]
        data.append(
            {
                "type": "bar",
                "name": f"{variant} on {offer}",
                "x": list(range(len(schedule))),
                "y": counts,
                "marker": {"color": colour(i)},
            }
        )
    layout = base_layout("Replicas per interval", "interval", "replicas")
    layout["barmode"] = "stack"
    return {"data": data, "layout": layout}
