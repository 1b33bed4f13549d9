"""A what-if run's figures: cost and SLA per policy, from `compare_policies` JSON."""

from collections.abc import Mapping
from typing import Any

from apps.dashboard.figures.style import GREY, Figure, bar, base_layout, colour


def policy_cost_figure(policies: Mapping[str, Mapping[str, Any]]) -> Figure:
    """Replayed cost per policy, stacked by purchase option, from `compare_policies` JSON."""
    names = list(policies)
    options = sorted({o for p in policies.values() for o in p["cost_by_option"]})
    data = [
        bar(names, [policies[n]["cost_by_option"].get(o, 0.0) for n in names], o, colour(i))
        for i, o in enumerate(options)
    ]
    data.append(bar(names, [policies[n]["sla_penalty_usd"] for n in names], "SLA penalty", GREY))
    layout = base_layout("Cost per policy", "policy", "USD over the replay")
    layout["barmode"] = "stack"
    return {"data": data, "layout": layout}


def policy_sla_figure(policies: Mapping[str, Mapping[str, Any]]) -> Figure:
    """SLA violation rate and p99 latency per policy, from `compare_policies` JSON."""
    names = list(policies)
    violations = bar(
        names, [100 * policies[n]["sla_violation_rate"] for n in names], "violations %", colour(3)
    )
    p99 = bar(names, [policies[n]["p99_ms"] for n in names], "p99 ms", colour(0))
    p99.update(yaxis="y2", offsetgroup="p99")
    violations["offsetgroup"] = "violations"
    layout = base_layout("SLA per policy", "policy", "% of requests late")
    layout["yaxis2"] = {"title": {"text": "p99 ms"}, "overlaying": "y", "side": "right"}
    layout["barmode"] = "group"
    return {"data": [violations, p99], "layout": layout}
