"""One unit per quantity on every page: `{% load units %}{{ plan.sla_risk|share_pct }}`."""

from django import template

from apps.dashboard.what_if_summary import share_pct as format_share

register = template.Library()


@register.filter
def share_pct(fraction: float | None) -> str:
    """A share of requests (0 to 1) as a percent to two decimals; '' when there is none."""
    return "" if fraction is None else format_share(float(fraction))
