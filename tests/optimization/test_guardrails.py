"""Guardrails on plain plan data: each rule passes or breaks with its numbers; windows; auto."""

from datetime import UTC, datetime

import pytest

from optimization.guardrails import (
    Guardrails,
    PlanShape,
    auto_approvable,
    check_plan,
    check_window,
    loosened_rules,
    parse_windows,
)

SHAPE = PlanShape(
    replicas=[2, 4, 9, 3],
    purchase_options=["on_demand", "spot"],
    cost_per_day_usd=30.0,
    current_replicas=1,
)


def verdicts(rules):
    return {c.rule: c.ok for c in check_plan(SHAPE, rules)}


def test_unset_rules_impose_nothing():
    assert check_plan(SHAPE, Guardrails()) == []


def test_each_rule_passes_or_breaks_at_its_limit():
    assert verdicts(Guardrails(budget_per_day_usd=30.0)) == {"budget_per_day_usd": True}
    assert verdicts(Guardrails(budget_per_day_usd=29.99)) == {"budget_per_day_usd": False}
    # Steps: 1->2, 2->4, 4->9 (5), 9->3 (6): the largest is 6.
    assert verdicts(Guardrails(max_scale_step=6)) == {"max_scale_step": True}
    assert verdicts(Guardrails(max_scale_step=5)) == {"max_scale_step": False}
    assert verdicts(Guardrails(min_replicas=2)) == {"min_replicas": True}
    assert verdicts(Guardrails(min_replicas=3)) == {"min_replicas": False}
    broken = check_plan(SHAPE, Guardrails(allowed_purchase_options=("on_demand",)))
    assert not broken[0].ok and "not allowed: spot" in broken[0].detail


def test_workload_rules_override_the_teams_where_set():
    team = Guardrails(budget_per_day_usd=100, min_replicas=2, auto_approve=True)
    workload = Guardrails(budget_per_day_usd=20)
    merged = workload.merged_over(team)
    assert (merged.budget_per_day_usd, merged.min_replicas, merged.auto_approve) == (20, 2, True)


def test_windows_include_their_start_exclude_their_end_and_wrap_midnight():
    rules = Guardrails(
        change_windows=parse_windows(
            [
                {"days": ["mon"], "start": "09:00", "end": "17:00"},
                {"days": ["fri"], "start": "22:00", "end": "02:00"},
            ]
        )
    )
    monday = datetime(2026, 11, 23, tzinfo=UTC)  # a Monday
    assert check_window(rules, monday.replace(hour=9)).ok
    assert not check_window(rules, monday.replace(hour=17)).ok
    assert check_window(rules, datetime(2026, 11, 28, 1, 59, tzinfo=UTC)).ok  # Sat, from Fri
    assert not check_window(rules, datetime(2026, 11, 29, 1, 0, tzinfo=UTC)).ok  # Sun
    assert check_window(Guardrails(), monday) is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("9-5", "must be a list"),
        ([{"days": ["mon"], "start": "9:00", "end": "17:00"}], "change_windows[0].start"),
        ([{"days": [], "start": "09:00", "end": "17:00"}], "change_windows[0].days"),
        ([{"days": ["mon"], "start": "09:00", "end": "09:00"}], "must differ"),
        ([{"days": ["mon"], "start": "09:00", "end": "10:00", "tz": "CET"}], "unknown field"),
    ],
)
def test_bad_windows_name_the_field(raw, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_windows(raw)


def test_auto_approval_needs_the_rule_on_and_both_limits_met():
    on = Guardrails(
        auto_approve=True, auto_approve_max_change_pct=10, auto_approve_max_usd_per_day=5
    )
    assert not auto_approvable(
        Guardrails(), current_cost_per_day_usd=100, delta_cost_per_day_usd=1
    )[0]
    assert auto_approvable(on, current_cost_per_day_usd=100, delta_cost_per_day_usd=-4.9)[0]
    assert not auto_approvable(on, current_cost_per_day_usd=100, delta_cost_per_day_usd=6)[0]
    assert not auto_approvable(on, current_cost_per_day_usd=20, delta_cost_per_day_usd=3)[0]
    assert not auto_approvable(on, current_cost_per_day_usd=0, delta_cost_per_day_usd=1)[0]


@pytest.mark.parametrize(
    ("before", "after", "looser"),
    [
        (Guardrails(), Guardrails(budget_per_day_usd=50.0, min_replicas=2), []),
        (Guardrails(budget_per_day_usd=50.0), Guardrails(budget_per_day_usd=40.0), []),
        (
            Guardrails(budget_per_day_usd=50.0),
            Guardrails(budget_per_day_usd=60.0),
            ["budget_per_day_usd"],
        ),
        (Guardrails(budget_per_day_usd=50.0), Guardrails(), ["budget_per_day_usd"]),
        (Guardrails(max_scale_step=3), Guardrails(max_scale_step=None), ["max_scale_step"]),
        (Guardrails(min_replicas=2), Guardrails(min_replicas=3), []),
        (Guardrails(min_replicas=2), Guardrails(), ["min_replicas"]),
        (
            Guardrails(min_non_spot_replicas=2),
            Guardrails(min_non_spot_replicas=1),
            ["min_non_spot_replicas"],
        ),
        (
            Guardrails(allowed_purchase_options=("on_demand", "spot")),
            Guardrails(allowed_purchase_options=("on_demand",)),
            [],
        ),
        (
            Guardrails(allowed_purchase_options=("on_demand",)),
            Guardrails(allowed_purchase_options=("on_demand", "spot")),
            ["allowed_purchase_options"],
        ),
        (
            Guardrails(allowed_purchase_options=("on_demand",)),
            Guardrails(),
            ["allowed_purchase_options"],
        ),
        (Guardrails(), Guardrails(allowed_purchase_options=("on_demand",)), []),
        (Guardrails(auto_approve=True), Guardrails(auto_approve=False), []),
        (Guardrails(), Guardrails(auto_approve=True), ["auto_approve"]),
        (
            Guardrails(auto_approve_max_change_pct=5.0),
            Guardrails(auto_approve_max_change_pct=6.0),
            ["auto_approve_max_change_pct"],
        ),
        (
            Guardrails(auto_approve_max_usd_per_day=10.0),
            Guardrails(auto_approve_max_usd_per_day=2.0),
            [],
        ),
    ],
)
def test_loosened_rules_names_each_rule_enforced_less(before, after, looser):
    assert loosened_rules(before, after) == looser


def test_change_windows_tighten_when_they_open_no_new_minute():
    two = parse_windows(
        [
            {"days": ["mon"], "start": "09:00", "end": "17:00"},
            {"days": ["tue"], "start": "09:00", "end": "17:00"},
        ]
    )
    inside = parse_windows([{"days": ["mon"], "start": "10:00", "end": "12:00"}])
    later = parse_windows([{"days": ["mon"], "start": "16:00", "end": "18:00"}])
    # Monday 23:00 to Tuesday 01:00 opens Monday night, which neither window did.
    overnight = parse_windows([{"days": ["mon"], "start": "23:00", "end": "01:00"}])
    # Tuesday 09:00-17:00 in two pieces covers the same minutes.
    split = parse_windows(
        [
            {"days": ["tue"], "start": "09:00", "end": "13:00"},
            {"days": ["tue"], "start": "13:00", "end": "17:00"},
        ]
    )
    assert loosened_rules(Guardrails(), Guardrails(change_windows=two)) == []
    assert loosened_rules(Guardrails(change_windows=two), Guardrails(change_windows=two[:1])) == []
    assert loosened_rules(Guardrails(change_windows=two), Guardrails(change_windows=inside)) == []
    assert loosened_rules(Guardrails(change_windows=two), Guardrails(change_windows=split)) == []
    assert loosened_rules(Guardrails(change_windows=two), Guardrails()) == ["change_windows"]
    for looser in (later, overnight):
        changed = Guardrails(change_windows=looser)
        assert loosened_rules(Guardrails(change_windows=two), changed) == ["change_windows"]
