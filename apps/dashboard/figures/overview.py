"""The overview page's figures: billed, planned and forecast spend, savings, SLA compliance.

Every figure keeps its legend (one trace too: it says what the trace is), fits its axes to the
data, and says so in words when there is nothing to draw. Shares are percent everywhere.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from apps.dashboard.figures.style import Figure, bar, base_layout, colour, no_data, scatter

USD_PER_DAY = "USD per day"


def _legend_on(layout: dict[str, Any]) -> dict[str, Any]:
    layout["showlegend"] = True
    layout["yaxis"]["rangemode"] = "tozero"
    layout["margin"]["b"] = 80
    layout["legend"]["y"] = -0.25
    return layout


def spend_kinds_figure(
    days: Sequence[str],
    *,
    billed: Sequence[float],
    planned: Sequence[float],
    forecast: Sequence[float],
) -> Figure:
    """Billed (bars), planned and forecast (lines) USD per day: three things, three traces.

    Args:
        days: ISO dates, shape (d,).
        billed: USD per day from the bill, shape (d,).
        planned: USD per day estimated from applied plans, up to now, shape (d,).
        forecast: USD per day from now on, from the plans in force, shape (d,).
    """
    layout = _legend_on(
        base_layout("Spend per day: billed, planned, forecast", "day (UTC)", USD_PER_DAY)
    )
    if not any(billed) and not any(planned) and not any(forecast):
        return {"data": [], "layout": no_data(layout, "No spend in this range")}
    data = [
        bar(
            days, [round(v, 2) for v in billed], _name("billed (from the bill)", billed), colour(0)
        ),
        scatter(
            days,
            [_gap(v) for v in planned],
            _name("planned (estimated from applied plans)", planned),
            colour(1),
            mode="lines+markers",
        ),
        scatter(
            days,
            [_gap(v) for v in forecast],
            _name("forecast (plans in force, carried forward)", forecast),
            colour(2),
            mode="lines+markers",
            dash="dash",
        ),
    ]
    return {"data": data, "layout": layout}


def _name(name: str, values: Sequence[float]) -> str:
    """A trace's legend entry, saying so when it has nothing in the range (so it draws none)."""
    return name if any(values) else f"{name}: none in this range"


def _gap(usd: float) -> float | None:
    """A line's point, or a gap where the figure does not apply (no plan, not that part of time)."""
    return round(usd, 2) if usd else None


def spend_figure(
    days: Sequence[str],
    spend: Mapping[str, Sequence[float]],
    *,
    title: str,
    empty: str = "No spend in this range",
) -> Figure:
    """Spend per day, stacked by group (team, purchase option, ...).

    Args:
        days: ISO dates, shape (d,).
        spend: group label -> USD per day, each shape (d,).
        title: the figure's title, saying whether the spend is billed or estimated.
        empty: what the figure says when no group spent anything.
    """
    layout = _legend_on(base_layout(title, "day (UTC)", USD_PER_DAY))
    layout["barmode"] = "stack"
    groups = sorted((label, values) for label, values in spend.items() if any(values))
    if not groups:
        return {"data": [], "layout": no_data(layout, empty)}
    data = [
        bar(days, [round(v, 2) for v in values], label, colour(i))
        for i, (label, values) in enumerate(groups)
    ]
    return {"data": data, "layout": layout}


def savings_figure(rows: Sequence[Mapping[str, Any]]) -> Figure:
    """Simulated cost of the threshold baseline against Ballast's policy, per workload.

    Args:
        rows: each `{"workload": str, "threshold_cost_usd": float, "ballast_cost_usd": float}`.
    """
    layout = _legend_on(
        base_layout("Replayed cost on the same traffic", "workload", "USD over the replay")
    )
    layout["barmode"] = "group"
    if not rows:
        return {"data": [], "layout": no_data(layout, "No savings replay has finished yet")}
    names = [r["workload"] for r in rows]
    data = [
        bar(names, [r["threshold_cost_usd"] for r in rows], "threshold baseline", colour(1)),
        bar(names, [r["ballast_cost_usd"] for r in rows], "ballast", colour(0)),
    ]
    return {"data": data, "layout": layout}


def sla_figure(rows: Sequence[Mapping[str, Any]]) -> Figure:
    """Share of requests within the SLA target per workload (percent), from the savings replay.

    One source for savings and compliance: the same replay, threshold beside ballast (the
    policy the live controller runs). The y axis starts a little under the lowest share.

    Args:
        rows: each `{"workload": str, "threshold_within": float | None,
            "simulated": float | None}`, shares in [0, 1].
    """
    layout = _legend_on(
        base_layout("SLA compliance (replayed)", "workload", "% of requests within target")
    )
    layout["barmode"] = "group"
    replayed = [r for r in rows if r["simulated"] is not None]
    if not replayed:
        return {"data": [], "layout": no_data(layout, "No savings replay has finished yet")}
    names = [r["workload"] for r in replayed]
    threshold = [_pct(r.get("threshold_within")) for r in replayed]
    ballast = [_pct(r["simulated"]) for r in replayed]
    data = [
        bar(names, threshold, "threshold", colour(0)),
        bar(names, ballast, "ballast (as deployed)", colour(2)),
    ]
    for trace in data:
        trace["hovertemplate"] = "%{x}: %{y:.2f} %<extra>%{fullData.name}</extra>"
    lowest = min(v for v in threshold + ballast if v is not None)
    layout["yaxis"].update(range=[max(0.0, lowest - 1 - lowest % 1), 100.5], ticksuffix=" %")
    layout["yaxis"].pop("rangemode")
    return {"data": data, "layout": layout}


def _pct(share: float | None) -> float | None:
    return None if share is None else round(100 * share, 4)
