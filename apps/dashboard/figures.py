"""Plotly figures as pure functions: plain data (lists, dicts, numpy arrays) in, a figure dict out.

Nothing here touches the database. Each function returns `{"data": [...], "layout": {...}}`,
which plotly.js draws as is (templates/dashboard/_figure.html). Colours come from the Okabe-Ito
palette, which stays distinguishable under the common colour-vision deficiencies; dashes and
markers tell lines apart too. Times are epoch seconds (UTC) in, ISO-8601 strings out.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from apps.dashboard.downsample import DISPLAY_POINTS, lttb

# Okabe & Ito (2008), "Color Universal Design", in the order they are handed out.
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
GREY = "#999999"
Figure = dict[str, Any]


def colour(i: int) -> str:
    """The i-th palette colour, cycling."""
    return OKABE_ITO[i % len(OKABE_ITO)]


def solver_name(candidate: Mapping[str, Any]) -> str:
    """Who found a candidate: GA-PSO on cost + SLA ("hybrid") or the MILP on compute cost."""
    return "GA-PSO" if candidate.get("method") == "hybrid" else "MILP"


def pareto_figure(
    front: Sequence[Mapping[str, Any]],
    chosen_index: int | None,
    recommended_index: int | None,
    current_cost_per_day: float | None,
    budget_per_day: float | None,
    allowed_late: float | None = None,
    batch: bool = False,
) -> Figure:
    """Cost per day against the share of requests late for every candidate of a plan.

    Each candidate is placed where its replay put it (`measured`), else where the allocation
    model did (`cost_per_day_usd`, `sla_risk`).

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
    placed = [
        (m["cost_per_day_usd"], m["sla_violation_rate"], "replayed")
        if (m := c.get("measured"))
        else (c["cost_per_day_usd"], c["sla_risk"], "planned")
        for c in front
    ]
    cost = [_finite(p[0]) for p in placed]
    risk = [_finite(p[1]) for p in placed]
    labels = [
        f"candidate {i} ({how}): ${usd:.2f}/day, {late:.3%} late, "
        f"q{c.get('demand_quantile', '')}, ceilings x{c.get('margin', 1.0):g}, "
        f"{solver_name(c)}" + ("" if c.get("meets_sla", True) else ", breaks the SLA")
        for i, (c, (usd, late, how)) in enumerate(zip(front, placed, strict=True))
    ]
    data: list[dict[str, Any]] = [
        _scatter(risk, cost, "candidates", colour(0), mode="markers", text=labels)
    ]
    for index, name, symbol, col in (
        (recommended_index, "recommended", "circle-open", colour(2)),
        (chosen_index, "chosen", "diamond", colour(1)),
    ):
        if index is not None and 0 <= index < len(front):
            trace = _scatter([risk[index]], [cost[index]], name, col, mode="markers")
            trace["marker"] = {"color": col, "symbol": symbol, "size": 16, "line": {"width": 3}}
            trace["text"] = [labels[index]]
            data.append(trace)
    shapes, annotations = [], []
    for value, name, col, dash in (
        (current_cost_per_day, "current allocation", GREY, "dash"),
        (budget_per_day, "budget", colour(3), "solid"),
    ):
        if value is not None and math.isfinite(value):
            shapes.append(_hline(value, col, dash))
            annotations.append(_hlabel(value, f"{name}: ${value:.2f}/day", col))
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
    layout = _layout(
        "Cost against SLA risk (replayed where measured)",
        "share of simulated runs that miss the deadline"
        if batch
        else "share of requests over the target",
        "USD per run" if batch else "USD/day",
    )
    layout.update(shapes=shapes, annotations=annotations)
    return {"data": data, "layout": layout}


def schedule_figure(schedule: Sequence[Sequence[Mapping[str, Any]]]) -> Figure:
    """Replicas per interval, stacked by offer and variant.

    Args:
        schedule: per interval, a list of `{"offer", "variant", "count"}`, as in a candidate.
    """
    keys = sorted({(e["offer"], e["variant"]) for row in schedule for e in row})
    data = []
    for i, (offer, variant) in enumerate(keys):
        counts = [
            sum(int(e["count"]) for e in row if (e["offer"], e["variant"]) == (offer, variant))
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
    layout = _layout("Replicas per interval", "interval", "replicas")
    layout["barmode"] = "stack"
    return {"data": data, "layout": layout}


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
    data = [_scatter(_iso(x), y, "observed", colour(0))]
    if forecast is not None and len(forecast["mean"]):
        fx, quantiles = np.asarray(forecast["epoch_s"], dtype=float), forecast["quantiles"]
        times = _iso(fx)
        median = quantiles.get(0.5, forecast["mean"])
        data.append(_scatter(times, median, "forecast p50", colour(1), dash="dash"))
        for level, col in ((0.9, colour(5)), (0.99, colour(4))):
            if level in quantiles:
                band = _scatter(times, quantiles[level], f"forecast p{level * 100:g}", col)
                band.update(fill="tonexty", line={"color": col, "width": 1}, opacity=0.4)
                data.append(band)
    for i, line in enumerate(capacity):
        cx, cy = _changes(line["epoch_s"], line["capacity_rps"])
        step = _scatter(_iso(cx), cy, line["label"], colour(3 + i), dash=("dot", "dashdot")[i % 2])
        step["line"]["shape"] = "hv"
        data.append(step)
    return {"data": data, "layout": _layout("Traffic", "time (UTC)", "requests/s", time_x=True)}


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
        data.append(_scatter(_iso(x), y, label, colour(i), dash=("solid", "dash")[i % 2]))
    y_title = f"p{percentile:g} latency, ms" if percentile else "latency, ms"
    layout = _layout("Latency against the SLA (M/M/c model)", "time (UTC)", y_title, time_x=True)
    if target_ms is not None:
        layout["shapes"] = [_hline(target_ms, colour(3), "solid")]
        layout["annotations"] = [_hlabel(target_ms, f"SLA target {target_ms:g} ms", colour(3))]
    return {"data": data, "layout": layout}


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
    layout = _layout(title, "day (UTC)", "USD/day (estimated from plans)")
    layout["barmode"] = "stack"
    return {"data": data, "layout": layout}


def savings_figure(rows: Sequence[Mapping[str, Any]]) -> Figure:
    """Simulated cost of the threshold baseline against Ballast's policy, per workload.

    Args:
        rows: each `{"workload": str, "threshold_cost_usd": float, "ballast_cost_usd": float}`.
    """
    names = [r["workload"] for r in rows]
    data = [
        _bar(names, [r["threshold_cost_usd"] for r in rows], "threshold baseline", colour(1)),
        _bar(names, [r["ballast_cost_usd"] for r in rows], "ballast", colour(0)),
    ]
    layout = _layout("Replayed cost on the same traffic", "workload", "USD over the replay")
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
        _bar(names, [_pct(r.get("threshold_within")) for r in rows], "threshold", colour(0)),
        _bar(names, [_pct(r["simulated"]) for r in rows], "ballast (as deployed)", colour(2)),
    ]
    layout = _layout("SLA compliance (replayed)", "workload", "% of requests within target")
    layout["barmode"] = "group"
    layout["yaxis"]["range"] = [90, 100.5]
    return {"data": data, "layout": layout}


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
        trace = _scatter(_iso(xs), ys, s["label"], colour(i), mode="lines+markers")
        trace["line"]["shape"] = "hv"
        data.append(trace)
    return {"data": data, "layout": _layout("Price history", "valid from (UTC)", "USD/hour")}


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
    layout = _layout("Spot interruption frequency", "% interrupted per month", "instance type")
    layout["xaxis"]["range"] = [0, 25]
    return {"data": data, "layout": layout}


def policy_cost_figure(policies: Mapping[str, Mapping[str, Any]]) -> Figure:
    """Replayed cost per policy, stacked by purchase option, from `compare_policies` JSON."""
    names = list(policies)
    options = sorted({o for p in policies.values() for o in p["cost_by_option"]})
    data = [
        _bar(names, [policies[n]["cost_by_option"].get(o, 0.0) for n in names], o, colour(i))
        for i, o in enumerate(options)
    ]
    data.append(_bar(names, [policies[n]["sla_penalty_usd"] for n in names], "SLA penalty", GREY))
    layout = _layout("Cost per policy", "policy", "USD over the replay")
    layout["barmode"] = "stack"
    return {"data": data, "layout": layout}


def policy_sla_figure(policies: Mapping[str, Mapping[str, Any]]) -> Figure:
    """SLA violation rate and p99 latency per policy, from `compare_policies` JSON."""
    names = list(policies)
    violations = _bar(
        names, [100 * policies[n]["sla_violation_rate"] for n in names], "violations %", colour(3)
    )
    p99 = _bar(names, [policies[n]["p99_ms"] for n in names], "p99 ms", colour(0))
    p99.update(yaxis="y2", offsetgroup="p99")
    violations["offsetgroup"] = "violations"
    layout = _layout("SLA per policy", "policy", "% of requests late")
    layout["yaxis2"] = {"title": {"text": "p99 ms"}, "overlaying": "y", "side": "right"}
    layout["barmode"] = "group"
    return {"data": [violations, p99], "layout": layout}


def control_figure(decisions: Sequence[Mapping[str, Any]]) -> Figure:
    """The live controller's recent decisions: replicas per pool, and the load it saw.

    Args:
        decisions: oldest first, each `{"epoch_s", "demand_rps", "pools": {label: replicas}}`.
    """
    x = _iso([d["epoch_s"] for d in decisions])
    labels = sorted({label for d in decisions for label in d["pools"]})
    data = []
    for i, label in enumerate(labels):
        step = _scatter(x, [d["pools"].get(label, 0) for d in decisions], label, colour(i))
        step["line"]["shape"] = "hv"
        data.append(step)
    demand = _scatter(x, [d["demand_rps"] for d in decisions], "load seen (requests/s)", GREY)
    demand.update(yaxis="y2", line={"color": GREY, "dash": "dot"})
    data.append(demand)
    layout = _layout("Live controller", "step start (UTC)", "replicas", time_x=True)
    layout["yaxis"]["rangemode"] = "tozero"
    layout["yaxis2"] = {
        "title": {"text": "requests/s"},
        "overlaying": "y",
        "side": "right",
        "rangemode": "tozero",
    }
    layout["margin"]["r"] = 60
    return {"data": data, "layout": layout}


def _layout(title: str, x_title: str, y_title: str, *, time_x: bool = False) -> dict[str, Any]:
    xaxis: dict[str, Any] = {"title": {"text": x_title}}
    if time_x:
        xaxis["type"] = "date"
    return {
        "title": {"text": title},
        "xaxis": xaxis,
        "yaxis": {"title": {"text": y_title}},
        "colorway": list(OKABE_ITO),
        "legend": {"orientation": "h", "y": -0.2},
        "margin": {"l": 60, "r": 30, "t": 50, "b": 40},
        "height": 380,
        "template": "none",
    }


def _scatter(x, y, name: str, col: str, *, mode: str = "lines", dash: str = "solid", text=None):
    trace = {
        "type": "scatter",
        "mode": mode,
        "name": name,
        "x": _list(x),
        "y": _list(y),
        "line": {"color": col, "dash": dash},
        "marker": {"color": col},
    }
    if text is not None:
        trace["text"] = list(text)
        trace["hoverinfo"] = "text"
    return trace


def _bar(x, y, name: str, col: str) -> dict[str, Any]:
    return {"type": "bar", "name": name, "x": list(x), "y": _list(y), "marker": {"color": col}}


def _hline(y: float, col: str, dash: str) -> dict[str, Any]:
    line = {"color": col, "dash": dash, "width": 2}
    return {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": y, "y1": y, "line": line}


def _hlabel(y: float, text: str, col: str) -> dict[str, Any]:
    return {
        "xref": "paper",
        "x": 1,
        "y": y,
        "text": text,
        "showarrow": False,
        "xanchor": "right",
        "yanchor": "bottom",
        "font": {"color": col},
    }


def _changes(x, y) -> tuple[np.ndarray, np.ndarray]:
    """The points of a step series where its value changes, and its last point."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(y) < 3:
        return x, y
    same = np.isclose(y[1:], y[:-1], equal_nan=True)
    keep = np.concatenate([[True], ~same[:-1], [True]])
    return x[keep], y[keep]


def _iso(epoch_s) -> list[str]:
    seconds = np.asarray(epoch_s, dtype=np.float64).astype(np.int64)
    return np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").tolist()


def _list(values) -> list:
    """JSON-safe values: NaN and infinities become None (gaps), which JSON can carry."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        rounded = np.round(values, 4)
        return [None if not math.isfinite(v) else v for v in rounded.tolist()]
    return [_finite(v) if isinstance(v, float) else v for v in values]


def _finite(value) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _pct(share: float | None) -> float | None:
    return None if share is None else round(100 * share, 4)
