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
    (`PlanCandidate.judged`). The axes are fitted to the candidates (`fitted_range`; the risk
    axis never below 0), so a close front spreads over the plot; a reference line that lies off
    that scale becomes a label with an arrow to the edge it lies beyond. Each point carries its
    candidate's index as `customdata`, which the page reads on a click to choose it.

    Args:
        front: the plan's candidates.
        chosen_index: the candidate that would be applied (a filled diamond).
        recommended_index: the one proposed (an open circle around the point).
        current_cost_per_day: what runs now, USD/day (a dashed grey line), or None.
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
    data[0]["marker"]["size"] = 12  # a target a finger or a mouse can hit
    data[0]["customdata"] = list(range(len(front)))  # the page chooses a clicked candidate
    for index, name, symbol, col in (
        (recommended_index, "recommended", "circle-open", colour(2)),
        (chosen_index, "chosen", "diamond", colour(1)),
    ):
        if index is not None and 0 <= index < len(front):
            trace = scatter([risk[index]], [cost[index]], name, col, mode="markers")
            trace["marker"] = {"color": col, "symbol": symbol, "size": 16, "line": {"width": 3}}
            trace["text"] = [labels[index]]
            trace["customdata"] = [index]
            data.append(trace)
    cost_range = fitted_range([c for c in cost if c is not None])
    risk_range = fitted_range([r for r in risk if r is not None], floor=0.0)
    shapes, annotations = [], []
    for value, name, col, dash in (
        (current_cost_per_day, "current allocation", GREY, "dash"),
        (budget_per_day, "budget", colour(3), "solid"),
    ):
        if value is None or not math.isfinite(value):
            continue
        text = f"{name}: ${value:.2f}/day"
        if cost_range[0] <= value <= cost_range[1]:
            shapes.append(hline(value, col, dash))
            annotations.append(hlabel(value, text, col))
        else:
            annotations.append(off_scale_label(value, text, col, cost_range, axis="y"))
    if allowed_late is not None:
        text = f"SLA allows {allowed_late:.2%}"
        if risk_range[0] <= allowed_late <= risk_range[1]:
            shapes.append(vline(allowed_late, colour(3)))
            annotations.append(vlabel(allowed_late, text, colour(3)))
        else:
            annotations.append(off_scale_label(allowed_late, text, colour(3), risk_range, axis="x"))
    layout = base_layout(
        "Cost against SLA risk (replayed where measured)",
        "share of simulated runs that miss the deadline"
        if batch
        else "share of requests over the target",
        "USD per run" if batch else "USD/day",
    )
    layout["xaxis"].update(range=list(risk_range), tickformat=".2%")
    layout["yaxis"].update(range=list(cost_range), tickprefix="$")
    layout.update(shapes=shapes, annotations=annotations, clickmode="event", hovermode="closest")
    return {"data": data, "layout": layout}


def fitted_range(
    values: Sequence[float], *, pad: float = 0.1, floor: float | None = None
) -> tuple[float, float]:
    """An axis range around `values` with `pad` of their spread on each side, not below `floor`.

    A single value (or equal ones) gets a margin of 5 % of its size, so the points sit inside
    the plot rather than on its edge; no values give (0, 1).
    """
    if not values:
        return (0.0 if floor is None else floor, 1.0)
    lo, hi = min(values), max(values)
    margin = (hi - lo) * pad or max(abs(hi) * 0.05, 1e-4)
    lo, hi = lo - margin, hi + margin
    if floor is not None:
        lo = max(lo, floor)
    return (lo, hi)


def off_scale_label(
    value: float, text: str, col: str, shown: tuple[float, float], *, axis: str
) -> dict[str, Any]:
    """A reference off the fitted axis: its label at the edge it lies beyond, an arrow to it."""
    beyond = value > shown[1]
    edge = shown[1] if beyond else shown[0]
    label = {
        "text": f"{text} ({'above' if beyond else 'below'} this scale)"
        if axis == "y"
        else f"{text} ({'right' if beyond else 'left'} of this scale)",
        "showarrow": True,
        "arrowhead": 2,
        "arrowcolor": col,
        "font": {"color": col},
    }
    if axis == "y":
        # The arrow points from the text, inside the plot, to the edge the value lies beyond.
        return {
            **label,
            "xref": "paper",
            "x": 0.98,
            "xanchor": "right",
            "y": edge,
            "ax": 0,
            "ay": 30 if beyond else -30,
        }
    return {
        **label,
        "yref": "paper",
        "y": 0.65,  # below a cost label at the top edge, above the cheap (risky) points
        "x": edge,
        "xanchor": "right" if beyond else "left",  # the text inside the plot, beside the arrow
        "ax": -40 if beyond else 40,
        "ay": 0,
    }


def vline(x: float, col: str) -> dict[str, Any]:
    """A full-height dotted vertical line at `x` (the share late the SLA allows)."""
    line = {"color": col, "dash": "dot", "width": 2}
    return {"type": "line", "yref": "paper", "y0": 0, "y1": 1, "x0": x, "x1": x, "line": line}


def vlabel(x: float, text: str, col: str) -> dict[str, Any]:
    """The label of a `vline`, at its top."""
    return {
        "yref": "paper",
        "y": 1,
        "x": x,
        "text": text,
        "showarrow": False,
        "xanchor": "left",
        "yanchor": "top",
        "font": {"color": col},
    }


def schedule_figure(schedule: Schedule, starts: Sequence[str] | None = None) -> Figure:
    """Replicas per interval of a candidate's schedule, stacked by offer and variant.

    `starts` names each interval by its clock time ("14:00-15:00 UTC"); without it they are
    numbered from 0.
    """
    x = list(starts) if starts is not None else list(range(len(schedule)))
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
                "x": x,
                "y": counts,
                "marker": {"color": colour(i)},
            }
        )
    layout = base_layout(
        "Replicas per interval", "hour (UTC)" if starts is not None else "interval", "replicas"
    )
    layout["barmode"] = "stack"
    if starts is not None:
        layout["xaxis"]["type"] = "category"
    return {"data": data, "layout": layout}
