"""The catalog page's figures: price history and spot interruption bands."""

from collections.abc import Mapping, Sequence
from typing import Any

from apps.dashboard.figures.style import Figure, base_layout, colour, iso, scatter


def price_history_figure(series: Sequence[Mapping[str, Any]]) -> Figure:
    """Hourly price per instance type and purchase option over `valid_from`, as step lines.

    Args:
        series: each `{"label": str, "valid_from_s": [...], "price_per_hour_usd": [...]}`; the
            last price is held until now (`until_s`, optional).
    """
    data = []
    for i, s in enumerate(series):
        xs, ys = list(s["valid_from_s"]), list(s["price_per_hour_usd"])
        if s.get("until_s") and xs and s["until_s"] > xs[-1]:
            xs, ys = [*xs, s["until_s"]], [*ys, ys[-1]]
        trace = scatter(iso(xs), ys, s["label"], colour(i), mode="lines+markers")
        trace["line"]["shape"] = "hv"
        data.append(trace)
    return {"data": data, "layout": base_layout("Price history", "valid from (UTC)", "USD/hour")}


INTERRUPTION_RANGES = {
    "<5%": (0, 5),
    "5-10%": (5, 10),
    "10-15%": (10, 15),
    "15-20%": (15, 20),
    ">20%": (20, 25),
}


def interruption_figure(bands: Mapping[str, str]) -> Figure:
    """Spot interruption frequency band per instance type, as horizontal range bars.

    Args:
        bands: instance type -> AWS Spot Advisor band ("<5%", "5-10%", ... ">20%").
    """
    names = sorted(bands)
    ranges = [INTERRUPTION_RANGES.get(bands[n], (0, 0)) for n in names]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": "interruption band",
            "y": names,
            "base": [lo for lo, _ in ranges],
            "x": [hi - lo for lo, hi in ranges],
            "text": [bands[n] for n in names],
            "marker": {"color": colour(1)},
        }
    ]
    layout = base_layout("Spot interruption frequency", "% interrupted per month", "instance type")
    layout["xaxis"]["range"] = [0, 25]
    return {"data": data, "layout": layout}
