"""A plan's spot insurance: `policies.insurance.insure_candidate` in the workload's own world.

The world is `scenario_for`'s (each candidate served in its variant, as the live controller
does); the floor may be bought where the guardrails allow on-demand, and where they do not,
`uncovered_replicas_max` says what is missing. The simulator's deployed ballast insures its
plans with the same function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from apps.workloads.models import Workload
from apps.workloads.world import WorldError, scenario_for
from optimization.guardrails import Guardrails
from optimization.problem import PURCHASE_OPTIONS, DemandForecast
from policies.candidate import PlanCandidate
from policies.insurance import empty, insure_candidate

STEP_S = 60  # the world's step; nothing here depends on it


def insure_candidates(
    workload: Workload,
    demand: DemandForecast,
    candidates: Sequence[PlanCandidate],
    rules: Guardrails,
) -> tuple[list[PlanCandidate], list[dict[str, Any]]]:
    """(each candidate with its envelope's floor raised, each candidate's insurance).

    The insurance is one dict per candidate, in their order (`insurance_record`); without a
    world for the workload every candidate is left as it is, its insurance saying why.
    """
    try:
        world = scenario_for(workload, step_s=STEP_S, peak_rps=float(np.max(demand.rps)))
    except WorldError as exc:
        return list(candidates), [empty(f"no insurance: {exc}") for _ in candidates]
    allowed = rules.allowed_purchase_options or PURCHASE_OPTIONS
    out, records = [], []
    for candidate in candidates:
        insured, record = insure_candidate(world, demand, candidate, "on_demand" in allowed)
        out.append(insured)
        records.append(record)
    return out, records
