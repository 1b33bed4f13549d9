"""The overview page's figures: estimated spend, replayed savings and SLA compliance."""

from collections.abc import Mapping, Sequence
from typing import Any

from apps.dashboard.figures.style import Figure, bar, base_layout, colour


def spend_figure(
    days: Sequence[str], spend: Mapping[str, Sequence[float]], *, title: str
) -> Figure:
    """Estimated spend per day, stacked by group (team, workload or purchase option).

    Args:
        days: ISO dates, shape (d,).
        spend: group label -> USD per day, each shape (d,).
        title: the figure's title.
    """
    data = [
        {
            "type": "bar",
            "name": label,
            "x": list(days),
            "y": [round(v, 2) for v in values],
            "marker": {"color": colour(i)},
        }
        for i, (label, values) in enumerate(sorted(spend.items()))
    ]
    layout = base_layout(title, "day (UTC)", "USD/day (estimated from plans)")
    layout["barmode"] = "stack"
    return {"data": data, "layout": layout}


def savings_figure(rows: Sequence[Mapping[str, Any]]) -> Figure:
    """Simulated cost of the threshold baseline against Ballast's policy, per workload.

    Args:
        rows: each `{"workload": str, "threshold_cost_usd": float, "ballast_cost_usd": float}`.
    """
    names = [r["workload"] for r in rows]
    data = [
        bar(names, [r["threshold_cost_usd"] for r in rows], "threshold baseline", colour(1)),
        bar(names, [r["ballast_cost_usd"] for r in rows], "ballast", colour(0)),
    ]
    layout = base_layout("Replayed cost on the same traffic", "workload", "USD over the replay")
    layout["barmode"] = "group"
    return {"data": data, "layout": layout}


def sla_figure(rows: Sequence[Mapping[str, Any]]) -> Figure:
    """Share of requests within the SLA target per workload, from the savings replay.

    One source for savings and compliance: the same replay, threshold beside ballast (the
    policy the live controller runs).

    Args:
        rows: each `{"workload": str, "threshold_within": float | None,
            "simulated": float | None}`, shares in [0, 1].
    """
    names = [r["workload"] for r in rows]
    data = [
        bar(names, [_pct(r.get("threshold_within")) for r in rows], "threshold", colour(0)),
        bar(names, [_pct(r["simulated"]) for r in rows], "ballast (as deployed)", colour(2)),
    ]
    layout = base_layout("SLA compliance (replayed)", "workload", "% of requests within target")
    layout["barmode"] = "group"
    layout["yaxis"]["range"] = [90, 100.5]
    return {"data": data, "layout": layout}


def _pct(share: float | None) -> float | None:
    return None if share is None else round(100 * share, 4)
