"""Paragon's `mixed` procurement baseline: reactive VMs, serverless for what they cannot take.

Source: Gunasekaran et al. (Paragon) / Spock: VMs sized reactively (the util_aware rule, 80 %)
and every request above the VMs' safe rate goes to serverless functions, which covers the
minutes while new VMs boot.
"""

from __future__ import annotations

from policies.base import Context, Decision, Observation
from policies.util_aware import UtilAware


class Mixed(UtilAware):
    """util_aware sizing plus the serverless spill."""

    name = "mixed"
    spills = True

    def __init__(self, ctx: Context):
        super().__init__(ctx, target=0.8)

    def decide(self, obs: Observation) -> Decision:
        """As util_aware; the router sends a share of requests to functions."""
        return super().decide(obs)
