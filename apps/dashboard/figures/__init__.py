"""Plotly figures as pure functions: plain data (lists, dicts, numpy arrays) in, a figure dict out.

Nothing here touches the database. Each function returns `{"data": [...], "layout": {...}}`,
which plotly.js draws as is (templates/dashboard/_figure.html). One module per page: `plan`,
`workload`, `overview`, `what_if`, `catalog`; what they share (the Okabe-Ito palette, the base
layout, the trace builders) is in `style`. Times are epoch seconds (UTC) in, ISO-8601 strings
out. The views import this package, which names every page's figures.
"""

from apps.dashboard.figures.catalog import (
    INTERRUPTION_RANGES,
    interruption_figure,
    price_history_figure,
)
from apps.dashboard.figures.overview import (
    savings_figure,
    sla_figure,
    spend_figure,
    spend_kinds_figure,
)
from apps.dashboard.figures.plan import pareto_figure, schedule_figure, solver_name
from apps.dashboard.figures.style import GREY, OKABE_ITO, Figure, colour
from apps.dashboard.figures.what_if import policy_cost_figure, policy_sla_figure
from apps.dashboard.figures.workload import control_figure, latency_figure, traffic_figure

__all__ = [
    "GREY",
    "INTERRUPTION_RANGES",
    "OKABE_ITO",
    "Figure",
    "colour",
    "control_figure",
    "interruption_figure",
    "latency_figure",
    "pareto_figure",
    "policy_cost_figure",
    "policy_sla_figure",
    "price_history_figure",
    "savings_figure",
    "schedule_figure",
    "sla_figure",
    "solver_name",
    "spend_figure",
    "spend_kinds_figure",
    "traffic_figure",
]
