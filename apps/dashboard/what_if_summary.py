"""A what-if's result in words: the savings headline and the table's cells, one unit each.

Every quantity has one unit across the page: shares of requests (late, within the SLA) and of
capacity (utilisation) are percents to two decimals, latency is in ms, cost in US dollars over
the replay. A share that rounds to 0.00 % or 100.00 % without being exactly that says so
("< 0.01 %", "> 99.99 %"), so a replay with a few late requests never reads as perfect.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

HEADLINE_POLICY = "ballast"


def share_pct(fraction: float) -> str:
    """A share (0 to 1) as a percent to two decimals: 0.99978 -> '99.98 %'."""
    text = f"{100 * fraction:.2f}"
    if text == "0.00" and fraction > 0:
        return "< 0.01 %"
    if text == "100.00" and fraction < 1:
        return "> 99.99 %"
    return f"{text} %"


def usd(amount: float) -> str:
    """Dollars to the cent: 1234.5 -> '$1,234.50'."""
    return f"${amount:,.2f}"


def ms(latency_ms: float) -> str:
    """A latency to a tenth of a millisecond: '87.3 ms'."""
    return f"{latency_ms:,.1f} ms"


@dataclass(frozen=True)
class Headline:
    """Ballast against the baseline over one replay: the cost and the share within the SLA."""

    policy: str
    baseline: str
    cost_usd: float
    baseline_cost_usd: float
    within_sla: float  # share of requests served within the SLA, 0 to 1
    baseline_within_sla: float

    @property
    def saving_pct(self) -> float | None:
        """How much less the policy costs than the baseline, in percent (negative: more)."""
        if not self.baseline_cost_usd > 0:
            return None
        return 100 * (1 - self.cost_usd / self.baseline_cost_usd)

    def sentence(self) -> str:
        """'ballast costs $12.30, 34 % less than threshold ($18.64), with 99.97 % of ...'."""
        return (
            f"{self.policy} costs {usd(self.cost_usd)}, {self._comparison()} "
            f"({usd(self.baseline_cost_usd)}), with {share_pct(self.within_sla)} of requests "
            f"within the SLA against {share_pct(self.baseline_within_sla)}."
        )

    def _comparison(self) -> str:
        saving = self.saving_pct
        if saving is None:
            return f"where {self.baseline} costs nothing"
        if round(saving) == 0:
            return f"about as much as {self.baseline}"
        if saving > 0:
            return f"{round(saving)} % less than {self.baseline}"
        return f"{round(-saving)} % more than {self.baseline}"


def savings_headline(policies: Mapping[str, Mapping[str, Any]], baseline: str) -> Headline | None:
    """The headline of a what-if's `compare_policies` metrics; None without both policies."""
    if HEADLINE_POLICY not in policies or baseline not in policies:
        return None
    ours, theirs = policies[HEADLINE_POLICY], policies[baseline]
    return Headline(
        policy=HEADLINE_POLICY,
        baseline=baseline,
        cost_usd=ours["cost_usd"],
        baseline_cost_usd=theirs["cost_usd"],
        within_sla=1 - ours["sla_violation_rate"],
        baseline_within_sla=1 - theirs["sla_violation_rate"],
    )


def policy_rows(policies: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
    """One row of formatted cells per policy, in the table's units."""
    oracle = policies.get("oracle", {}).get("compute_cost_usd")
    return [
        {
            "policy": name,
            "cost": usd(m["cost_usd"]),
            "compute": usd(m["compute_cost_usd"]),
            "over_oracle": f"{m['compute_cost_usd'] / oracle:.2f} ×" if oracle else "",
            "penalty": usd(m["sla_penalty_usd"]),
            "late": share_pct(m["sla_violation_rate"]),
            "within_sla": share_pct(1 - m["sla_violation_rate"]),
            "p95": ms(m["p95_ms"]),
            "p99": ms(m["p99_ms"]),
            "utilisation": _utilisation(m),
            "actions": f"{m['scaling_actions']:,}",
        }
        for name, m in policies.items()
    ]


def _utilisation(m: Mapping[str, Any]) -> str:
    """The VMs' utilisation; a policy that served everything from functions ran no VM."""
    if m["utilization_efficiency"] == 0 and m.get("serverless_share", 0) > 0:
        return "no VMs"
    return share_pct(m["utilization_efficiency"])
