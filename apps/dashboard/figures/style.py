"""What every figure shares: the colour palette, the base layout and the trace builders.

Colours come from the Okabe-Ito palette, which stays distinguishable under the common
colour-vision deficiencies; dashes and markers tell lines apart too. Values go out JSON-safe
(`json_list`: NaN and infinities become gaps); times are epoch seconds in, ISO-8601 out.
"""

import math
from typing import Any

import numpy as np

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
# The trace types the pages' plotly.js bundle draws (static/plotly: plotly.js's basic bundle).
BASIC_TRACE_TYPES = frozenset({"scatter", "bar", "pie"})


def drawable(figure: Figure) -> Figure:
    """`figure` itself, once each trace is checked to be a type the pages' plotly.js draws.

    Every figure a page shows passes here (templates/dashboard/_figure.html), so a figure built
    with a trace the basic bundle lacks fails the page's tests rather than drawing nothing.
    """
    if not isinstance(figure, dict):
        return figure  # no figure (a page without the data): json_script writes it as it is
    for trace in figure.get("data") or []:
        kind = trace.get("type", "scatter")
        if kind not in BASIC_TRACE_TYPES:
            raise ValueError(
                f"trace type {kind!r} is not in the pages' plotly.js bundle "
                f"({', '.join(sorted(BASIC_TRACE_TYPES))}): see static/plotly/README.md"
            )
    return figure


def colour(i: int) -> str:
    """The i-th palette colour, cycling."""
    return OKABE_ITO[i % len(OKABE_ITO)]


def base_layout(title: str, x_title: str, y_title: str, *, time_x: bool = False) -> dict[str, Any]:
    """The layout every figure starts from: titles, the palette, a legend below, no template."""
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


def scatter(x, y, name: str, col: str, *, mode: str = "lines", dash: str = "solid", text=None):
    """A line (or markers) trace in one colour; `text` becomes its hover text."""
    trace = {
        "type": "scatter",
        "mode": mode,
        "name": name,
        "x": json_list(x),
        "y": json_list(y),
        "line": {"color": col, "dash": dash},
        "marker": {"color": col},
    }
    if text is not None:
        trace["text"] = list(text)
        trace["hoverinfo"] = "text"
    return trace


def bar(x, y, name: str, col: str) -> dict[str, Any]:
    """A bar trace in one colour."""
    return {"type": "bar", "name": name, "x": list(x), "y": json_list(y), "marker": {"color": col}}


def hline(y: float, col: str, dash: str) -> dict[str, Any]:
    """A full-width horizontal line at `y` (a target, a budget)."""
    line = {"color": col, "dash": dash, "width": 2}
    return {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": y, "y1": y, "line": line}


def hlabel(y: float, text: str, col: str) -> dict[str, Any]:
    """The label of an `hline`, at its right end."""
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


def iso(epoch_s) -> list[str]:
    """Epoch seconds as ISO-8601 strings (UTC, whole seconds)."""
    seconds = np.asarray(epoch_s, dtype=np.float64).astype(np.int64)
    return np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").tolist()


def json_list(values) -> list:
    """JSON-safe values: NaN and infinities become None (gaps), which JSON can carry."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        rounded = np.round(values, 4)
        return [None if not math.isfinite(v) else v for v in rounded.tolist()]
    return [finite(v) if isinstance(v, float) else v for v in values]


def finite(value) -> float | None:
    """The value as a float, or None when it is None, NaN or infinite."""
    return float(value) if value is not None and math.isfinite(value) else None


def no_data(layout: dict[str, Any], message: str) -> dict[str, Any]:
    """The layout of a figure with nothing to draw: the message in place of bare axes."""
    layout["xaxis"]["visible"] = False
    layout["yaxis"]["visible"] = False
    layout["annotations"] = [
        {
            "xref": "paper",
            "yref": "paper",
            "x": 0.5,
            "y": 0.5,
            "text": message,
            "showarrow": False,
            "font": {"size": 16, "color": "#333333"},  # GREY is too faint for text
        }
    ]
    return layout
