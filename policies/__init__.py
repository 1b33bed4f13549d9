"""Scaling policies, one per file: the research's systems, the usual baselines and the oracle.

REFERENCES are not policies a user would run but yardsticks the benchmark sets beside them.
"""

from __future__ import annotations

from collections.abc import Sequence

from policies.ballast import Ballast
from policies.base import Context, Decision, Observation, Policy
from policies.cost_aware import CostAware
from policies.exascale import Exascale
from policies.gapso import GAPSO
from policies.hpa import HPA
from policies.mixed import Mixed
from policies.oracle import Oracle, RateOracle, TrailingRate
from policies.paragon import Paragon
from policies.predictive import Predictive
from policies.rule_based import RuleBased
from policies.threshold import Threshold
from policies.util_aware import UtilAware

POLICIES = {
    cls.name: cls
    for cls in (
        Threshold,
        HPA,
        RuleBased,
        UtilAware,
        Exascale,
        Predictive,
        Mixed,
        Paragon,
        GAPSO,
        CostAware,
        Ballast,
        Oracle,
    )
}
REFERENCES = {RateOracle.name: RateOracle, TrailingRate.name: TrailingRate}

__all__ = [
    "POLICIES",
    "REFERENCES",
    "Context",
    "Decision",
    "Observation",
    "Policy",
    "check_policies",
    "make_policy",
]


def check_policies(names: Sequence[str], known: Sequence[str] = ()) -> None:
    """Refuse any name that is not in `known` (by default, a policy or a reference).

    Raises:
        ValueError: naming the first unknown name and the known ones.
    """
    known = known or (*POLICIES, *REFERENCES)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown policy {unknown[0]!r}; known: {', '.join(known)}")


def make_policy(name: str, ctx: Context) -> Policy:
    """A fresh policy called `name` for one replay.

    Raises:
        ValueError: naming the known policies when `name` is not one.
    """
    check_policies([name])
    return (POLICIES | REFERENCES)[name](ctx)
