"""The workload page's figures: traffic with forecast and capacity, latency, the controller."""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from apps.dashboard.downsample import DISPLAY_POINTS, lttb
from apps.dashboard.figures.style import (
    GREY,
    Figure,
    base_layout,
    colour,
    hlabel,
    hline,
    iso,
    scatter,
)


def traffic_figure(
    history_s: np.ndarray,
    history_rps: np.ndarray,
    *,
    forecast: Mapping[str, Any] | None = None,
    capacity: Sequence[Mapping[str, Any]] = (),
    max_points: int = DISPLAY_POINTS,
) -> Figure:
    """Observed requests/s, the forecast with its 50/90/99% quantiles, and provisioned capacity.

    Args:
        history_s: observed instants, epoch seconds, shape (n,).
        history_rps: observed requests/s, shape (n,); downsampled with LTTB to `max_points`.
        forecast: `{"epoch_s": (h,), "mean": (h,), "quantiles": {0.5: (h,), 0.9: ..., 0.99: ...}}`
            in requests/s; the 90% and 99% levels are drawn as bands above the median.
        capacity: step lines, each `{"epoch_s": (k,), "capacity_rps": (k,), "label": str}`
            (NaN where unknown); only the points where the value changes are sent.
        max_points: the most history points drawn.
    """
    x, y = lttb(history_s, history_rps, max_points)
    data = [scatter(iso(x), y, "observed", colour(0))]
    if forecast is not None and len(forecast["mean"]):
        fx, quantiles = np.asarray(forecast["epoch_s"], dtype=float), forecast["quantiles"]
        times = iso(fx)
        median = quantiles.get(0.5, forecast["mean"])
        data.append(scatter(times, median, "forecast p50", colour(1), dash="dash"))
        for level, col in ((0.9, colour(5)), (0.99, colour(4))):
            if level in quantiles:
                band = scatter(times, quantiles[level], f"forecast p{level * 100:g}", col)
                band.update(fill="tonexty", line={"color": col, "width": 1}, opacity=0.4)
                data.append(band)
    for i, line in enumerate(capacity):
        cx, cy = _changes(line["epoch_s"], line["capacity_rps"])
        step = scatter(iso(cx), cy, line["label"], colour(3 + i), dash=("dot", "dashdot")[i % 2])
        step["line"]["shape"] = "hv"
        data.append(step)
    return {"data": data, "layout": base_layout("Traffic", "time (UTC)", "requests/s", time_x=True)}


def latency_figure(
    series: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    target_ms: float | None,
    percentile: float | None,
    max_points: int = DISPLAY_POINTS,
) -> Figure:
    """Modelled latency per step against the SLA target (a vermillion line).

    Args:
        series: label -> (epoch seconds, latency in ms), each shape (n,); NaN steps (no known
            capacity) are left out.
        target_ms: the SLA's latency target, or None.
        percentile: the SLA's percentile (99 for p99), for the axis title.
        max_points: the most points drawn per series.
    """
    data = []
    for i, (label, (epoch_s, latency_ms)) in enumerate(series.items()):
        latency_ms = np.asarray(latency_ms, dtype=float)
        known = np.isfinite(latency_ms)
        x, y = lttb(np.asarray(epoch_s, dtype=float)[known], latency_ms[known], max_points)
        data.append(scatter(iso(x), y, label, colour(i), dash=("solid", "dash")[i % 2]))
    y_title = f"p{percentile:g} latency, ms" if percentile else "latency, ms"
    layout = base_layout(
        "Latency against the SLA (M/M/c model)", "time (UTC)", y_title, time_x=True
    )
    if target_ms is not None:
        layout["shapes"] = [hline(target_ms, colour(3), "solid")]
        layout["annotations"] = [hlabel(target_ms, f"SLA target {target_ms:g} ms", colour(3))]
    return {"data": data, "layout": layout}


def control_figure(decisions: Sequence[Mapping[str, Any]]) -> Figure:
    """The live controller's recent decisions: replicas per pool, and the load it saw.

    Args:
        decisions: oldest first, each `{"epoch_s", "demand_rps", "pools": {label: replicas}}`.
    """
    x = iso([d["epoch_s"] for d in decisions])
    labels = sorted({label for d in decisions for label in d["pools"]})
    data = []
    for i, label in enumerate(labels):
        step = scatter(x, [d["pools"].get(label, 0) for d in decisions], label, colour(i))
        step["line"]["shape"] = "hv"
        data.append(step)
    demand = scatter(x, [d["demand_rps"] for d in decisions], "load seen (requests/s)", GREY)
    demand.update(yaxis="y2", line={"color": GREY, "dash": "dot"})
    data.append(demand)
    layout = base_layout("Live controller", "step start (UTC)", "replicas", time_x=True)
    layout["yaxis"]["rangemode"] = "tozero"
    layout["yaxis2"] = {
        "title": {"text": "requests/s"},
        "overlaying": "y",
        "side": "right",
        "rangemode": "tozero",
    }
    layout["margin"]["r"] = 60
    return {"data": data, "layout": layout}


def _changes(x, y) -> tuple[np.ndarray, np.ndarray]:
    """The points of a step series where its value changes, and its last point."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(y) < 3:
        return x, y
    same = np.isclose(y[1:], y[:-1], equal_nan=True)
    keep = np.concatenate([[True], ~same[:-1], [True]])
    return x[keep], y[keep]
