"""A plan's candidates: built from the front or the batch planner, stored, and recommended."""

import math

import pytest

from optimization.pareto import knee_point, pareto_front
from optimization.suite import bench_suite
from policies.candidate import MARGINS, PlanCandidate, envelope_candidates, recommend
from policies.envelope import Envelope


def test_a_plans_candidates_are_its_fronts_ends_and_knee_at_every_margin():
    problem = next(p for p in bench_suite() if p.name == "small-6x8x2")
    front = pareto_front(problem)
    out = envelope_candidates(problem, front)
    points = sorted({0, front.index(knee_point(front)), len(front) - 1})
    assert len(out) == len(points) * len(MARGINS)
    for point in points:
        planned = [c for c in out if c.demand_quantile == front[point].demand_quantile]
        assert [c.margin for c in planned] == list(MARGINS)
        base = planned[0].envelope.hours
        for c in planned:
            hours = c.envelope.hours
            assert [h.max_replicas for h in hours] == [
                math.ceil(b.max_replicas * c.margin - 1e-9) for b in base
            ]
            assert [h.min_non_spot for h in hours] == [b.min_non_spot for b in base]


def test_a_candidate_survives_its_json_and_an_old_one_reads_its_schedule_as_its_envelope():
    problem = next(p for p in bench_suite() if p.name == "small-6x8x2")
    for c in envelope_candidates(problem, pareto_front(problem)):
        assert PlanCandidate.from_json(c.to_json()) == c
    old = {"schedule": [[{"offer": "a/spot", "variant": "v", "count": 2}]], "sla_risk": 0.0}
    restored = PlanCandidate.from_json(old)
    assert restored.envelope.variant == "v" and restored.envelope.hours[0].max_replicas == 2
    assert restored.first_interval() == {"a/spot": 2}
    assert restored.pools({"a/spot": "spot"}) == [{"spot": 2}]


def candidate(cost, late, margin=1.0, measured=True, planned=(99.0, 0.5)):
    """Planned figures are ignored where a replay measured the candidate."""
    figures = {"cost_per_day_usd": cost, "sla_violation_rate": late}
    return PlanCandidate(
        envelope=Envelope(None, ()),
        cost_per_day_usd=planned[0],
        sla_risk=planned[1],
        margin=margin,
        measured=figures if measured else None,
    )


def test_a_plan_proposes_the_cheapest_candidate_within_the_sla_as_replayed():
    front = [candidate(10.0, 0.02), candidate(12.0, 0.008), candidate(15.0, 0.001)]
    assert recommend(front, range(3), 0.01) == 1
    assert recommend(front, [0, 2], 0.01) == 2  # candidate 1 breaks a guardrail


def test_at_the_same_cost_the_roomier_envelope_is_proposed():
    front = [candidate(10.0, 0.005, 1.0), candidate(10.1, 0.004, 2.0), candidate(11, 0, 3.0)]
    assert recommend(front, range(3), 0.01) == 1  # within 2 % of the cheapest, wider ceilings


def test_with_none_within_the_sla_the_least_late_is_proposed():
    front = [candidate(10.0, 0.05), candidate(20.0, 0.02), candidate(30.0, 0.021, 2.0)]
    assert recommend(front, range(3), 0.01) == 1
    unmeasured = [candidate(0, 0, measured=False, planned=(4.0, 0.002)), candidate(5.0, 0.001)]
    assert recommend(unmeasured, range(2), 0.01) == 0
    with pytest.raises(ValueError, match="passing"):
        recommend(front, [], 0.01)
