"""Template filters of the pages: one unit per quantity, figures the pages can draw.

`{% load units %}{{ plan.sla_risk|share_pct }}`, `{{ figure|drawable|json_script }}`.
"""

from django import template

from apps.dashboard.figures.style import Figure
from apps.dashboard.figures.style import drawable as check_drawable
from apps.dashboard.what_if_summary import share_pct as format_share

register = template.Library()


@register.filter
def share_pct(fraction: float | None) -> str:
    """A share of requests (0 to 1) as a percent to two decimals; '' when there is none."""
    return "" if fraction is None else format_share(float(fraction))


@register.filter
def drawable(figure: Figure) -> Figure:
    """The figure, refused if the pages' plotly.js bundle cannot draw one of its traces."""
    return check_drawable(figure)
