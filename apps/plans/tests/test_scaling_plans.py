"""Scaling plans: request, build, four eyes, states, guardrails, apply, audit trail."""

import json
import math
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.plans import applying, services
from apps.plans.models import AppendOnlyError, AuditEvent, Guardrail, PlanSchedule, ScalingPlan
from apps.workloads.models import SLA, CapacityProfile
from conftest import field_errors, token_client


def request(client, workload, **fields):
    return client.post("/api/v1/plans/", {"workload": workload.pk} | fields, format="json")


def test_a_requested_plan_is_proposed_with_its_front_cost_risk_and_fingerprint(proposed, ci_a):
    plan = ci_a.get(f"/api/v1/plans/{proposed.pk}/").data
    assert plan["status"] == "proposed", plan["message"]
    assert plan["forecast_run"] is not None  # the stored fresh forecast was reused
    assert len(plan["schedule"]) == 24  # an hour per interval over the day
    assert plan["chosen_index"] == plan["recommended_index"]
    front = plan["front"]
    assert len(front) >= 2
    costs = [c["cost_per_day_usd"] for c in front]
    risks = [c["sla_risk"] for c in front]
    assert costs == sorted(costs) and risks == sorted(risks, reverse=True)
    assert plan["expected_cost_per_day_usd"] == costs[plan["chosen_index"]]
    # Nothing applied yet: the whole cost is the difference.
    assert plan["current_cost_per_day_usd"] == 0
    assert plan["delta_cost_per_day_usd"] == pytest.approx(plan["expected_cost_per_day_usd"])
    assert len(plan["live_fingerprint"]) == 64
    actions = list(
        AuditEvent.objects.filter(plan_id=proposed.pk).order_by("at").values_list("action")
    )
    assert actions == [("plan.requested",), ("plan.proposed",)]


def test_the_plan_list_leaves_out_the_fronts_that_the_detail_carries(proposed, ci_a):
    detail = ci_a.get(f"/api/v1/plans/{proposed.pk}/").data
    (listed,) = ci_a.get("/api/v1/plans/", {"workload": proposed.workload_id}).data["results"]
    assert "front" not in listed
    assert listed["front_size"] == len(detail["front"]) >= 2
    assert listed["schedule"] == detail["schedule"]
    assert "front_insurance" not in listed
    assert {k: v for k, v in detail.items() if k not in ("front", "front_insurance")} == {
        k: v for k, v in listed.items() if k != "front_size"
    }


def test_the_requester_cannot_approve_and_a_ci_token_needs_the_scope(
    proposed, ci_a, make_user, team_a
):
    response = ci_a.post(f"/api/v1/plans/{proposed.pk}/approve/", {}, format="json")
    assert response.status_code == 403
    assert "four eyes" in response.data["detail"]

    other_ci = token_client(make_user("ci-a2", role="ci", team=team_a))
    response = other_ci.post(f"/api/v1/plans/{proposed.pk}/approve/", {}, format="json")
    assert response.status_code == 403
    assert "plans:approve" in response.data["detail"]

    scoped_user = make_user("ci-a3", role="ci", team=team_a)
    scoped = token_client(scoped_user, scopes=["plans:approve"])
    response = scoped.post(f"/api/v1/plans/{proposed.pk}/approve/", {"comment": "ok"})
    assert response.status_code == 200, response.data
    assert response.data["status"] == "approved"
    assert response.data["decided_by"] == "ci-a3"
    event = AuditEvent.objects.get(plan_id=proposed.pk, action="plan.approved")
    assert (event.actor, event.via, event.comment) == ("ci-a3", "token", "ok")


def test_viewers_finops_and_other_teams_cannot_decide(proposed, viewer_a, finops, sre_b):
    assert viewer_a.post(f"/api/v1/plans/{proposed.pk}/approve/").status_code == 403
    assert finops.post(f"/api/v1/plans/{proposed.pk}/approve/").status_code == 403
    assert sre_b.post(f"/api/v1/plans/{proposed.pk}/approve/").status_code == 404
    assert ScalingPlan.objects.get(pk=proposed.pk).status == "proposed"


def test_an_expired_plan_is_refused_and_marked_expired(proposed, sre_a):
    ScalingPlan.objects.filter(pk=proposed.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = sre_a.post(f"/api/v1/plans/{proposed.pk}/approve/")
    assert response.status_code == 409
    assert "expired" in response.data["detail"]
    assert ScalingPlan.objects.get(pk=proposed.pk).status == "expired"


def test_a_newer_plan_supersedes_and_the_older_cannot_be_approved(
    proposed, ci_a, online_workload, build, sre_a
):
    newer = request(ci_a, online_workload).data["id"]
    build(newer)
    assert ScalingPlan.objects.get(pk=newer).status == "proposed"
    response = sre_a.post(f"/api/v1/plans/{proposed.pk}/approve/")
    assert response.status_code == 409
    assert "superseded" in response.data["detail"]


def test_approving_twice_gives_one_approval(proposed, sre_a, make_user, team_a):
    second = token_client(make_user("sre-a2", role="sre", team=team_a))
    assert sre_a.post(f"/api/v1/plans/{proposed.pk}/approve/").status_code == 200
    response = second.post(f"/api/v1/plans/{proposed.pk}/approve/")
    assert response.status_code == 409
    assert AuditEvent.objects.filter(plan_id=proposed.pk, action="plan.approved").count() == 1


def test_an_sre_may_pick_another_candidate_with_a_reason(proposed, sre_a):
    safest = len(proposed.front) - 1
    missing = sre_a.post(f"/api/v1/plans/{proposed.pk}/choose/", {"candidate": safest})
    assert missing.status_code == 400 and "reason" in field_errors(missing)
    out_of_range = sre_a.post(
        f"/api/v1/plans/{proposed.pk}/choose/", {"candidate": 99, "reason": "x"}
    )
    assert out_of_range.status_code == 400 and "candidate" in out_of_range.data["detail"]
    response = sre_a.post(
        f"/api/v1/plans/{proposed.pk}/choose/", {"candidate": safest, "reason": "launch week"}
    )
    assert response.status_code == 200, response.data
    assert response.data["chosen_index"] == safest
    assert response.data["expected_cost_per_day_usd"] == proposed.front[safest]["cost_per_day_usd"]
    event = AuditEvent.objects.get(plan_id=proposed.pk, action="plan.candidate_chosen")
    assert event.reason == "launch week" and event.detail["to_index"] == safest
    chooser_approves = sre_a.post(f"/api/v1/plans/{proposed.pk}/approve/")
    assert chooser_approves.status_code == 403
    assert "whoever chose the candidate" in chooser_approves.data["detail"]


def test_a_budget_no_candidate_meets_refuses_the_plan_naming_the_rule(
    ci_a, online_workload, stored_forecast, build, team_a
):
    Guardrail.objects.create(team=team_a, budget_per_day_usd=0.5)
    plan_id = request(ci_a, online_workload).data["id"]
    build(plan_id)
    plan = ci_a.get(f"/api/v1/plans/{plan_id}/").data
    assert plan["status"] == "rejected"
    assert "budget_per_day_usd" in plan["message"]


def test_guardrails_shape_the_plan_and_a_closed_window_refuses_approval(
    ci_a, sre_a, online_workload, stored_forecast, build, team_a
):
    now = timezone.now()
    closed_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][(now.weekday() + 3) % 7]
    Guardrail.objects.create(
        team=team_a,
        min_replicas=3,
        change_windows=[{"days": [closed_day], "start": "00:00", "end": "01:00"}],
    )
    Guardrail.objects.create(workload=online_workload, allowed_purchase_options=["on_demand"])
    plan_id = request(ci_a, online_workload).data["id"]
    build(plan_id)
    plan = ci_a.get(f"/api/v1/plans/{plan_id}/").data
    assert plan["status"] == "proposed", plan["message"]
    assert all(sum(e["count"] for e in row) >= 3 for row in plan["schedule"])
    assert all(e["offer"].endswith("/on_demand") for row in plan["schedule"] for e in row)
    rules = {c["rule"]: c["ok"] for c in plan["guardrail_checks"] if c["blocking"]}
    assert rules == {"min_replicas": True, "allowed_purchase_options": True}
    response = sre_a.post(f"/api/v1/plans/{plan_id}/approve/")
    assert response.status_code == 409
    assert response.data["rule"] == "change_windows"


def test_a_non_spot_base_is_the_sres_to_require_and_every_interval_keeps_it(
    ci_a, online_workload, build
):
    Guardrail.objects.create(workload=online_workload, min_non_spot_replicas=2)
    plan_id = request(ci_a, online_workload).data["id"]
    build(plan_id)
    plan = ci_a.get(f"/api/v1/plans/{plan_id}/").data
    assert plan["status"] == "proposed", plan["message"]
    for candidate in plan["front"]:
        for row, hour in zip(candidate["schedule"], candidate["envelope"]["hours"], strict=True):
            assert sum(e["count"] for e in row if e["offer"].endswith("/on_demand")) >= 2
            assert hour["min_non_spot"] >= 2


def test_apply_runs_verified_steps_once_and_makes_older_plans_stale(
    proposed, sre_a, ci_a, online_workload, build
):
    sibling = request(ci_a, online_workload).data["id"]  # made against the same live state
    assert sre_a.post(f"/api/v1/plans/{proposed.pk}/approve/").status_code == 200
    assert ci_a.post(f"/api/v1/plans/{proposed.pk}/apply/").status_code == 403  # no scope
    response = sre_a.post(f"/api/v1/plans/{proposed.pk}/apply/")
    assert response.status_code == 202 and response.data["status"] == "applying"

    applying.execute_apply(proposed.pk)
    applying.execute_apply(proposed.pk)  # a redelivery does nothing more
    plan = ScalingPlan.objects.get(pk=proposed.pk)
    assert plan.status == "applied" and plan.applied_at is not None
    steps = AuditEvent.objects.filter(plan_id=proposed.pk, action="plan.apply_step")
    first = proposed.front[proposed.chosen_index]["schedule"][0]
    # The workload's one target is a dry-run Kubernetes Deployment: its replicas.
    assert [(s.detail["setting"], s.detail["after"]) for s in steps] == [
        ("replicas", sum(e["count"] for e in first))
    ]
    assert all(s.detail["verified"] and s.detail["dry_run"] for s in steps)

    # Built after the apply, the sibling plans against the new live state.
    build(sibling)
    sibling_plan = ScalingPlan.objects.get(pk=sibling)
    assert sibling_plan.live_fingerprint != plan.live_fingerprint
    assert sibling_plan.current_allocation == {e["offer"]: e["count"] for e in first}


def test_a_plan_planned_before_another_apply_is_refused_as_stale(
    proposed, sre_a, ci_a, online_workload, build, make_user, team_a
):
    assert sre_a.post(f"/api/v1/plans/{proposed.pk}/approve/").status_code == 200
    # Someone changes the deployment target after planning: the plan is stale.
    online_workload.targets.update(reference="prod/ranker-v2")
    response = sre_a.post(f"/api/v1/plans/{proposed.pk}/apply/")
    assert response.status_code == 409
    assert "stale" in response.data["detail"]


def apply_and_turn_auto_approve_on(plan, sre, team) -> None:
    """Approve and apply `plan`, then let the team's small changes go without a person."""
    sre.post(f"/api/v1/plans/{plan.pk}/approve/")
    sre.post(f"/api/v1/plans/{plan.pk}/apply/")
    applying.execute_apply(plan.pk)
    Guardrail.objects.create(
        team=team,
        auto_approve=True,
        auto_approve_max_change_pct=50,
        auto_approve_max_usd_per_day=100,
    )


def test_a_small_change_is_auto_approved_when_the_rule_is_on(
    proposed, sre_a, ci_a, online_workload, build, team_a, settings
):
    settings.AUTO_APPROVE_MAX_CHANGE_PCT, settings.AUTO_APPROVE_MAX_USD_PER_DAY = 50, 100
    apply_and_turn_auto_approve_on(proposed, sre_a, team_a)
    SLA.objects.filter(workload=online_workload).update(
        latency_percentile=50, latency_target_ms=1000
    )  # loose enough that the candidates meet it: only those may be approved without a person
    newer = request(ci_a, online_workload).data["id"]
    build(newer)
    plan = ScalingPlan.objects.get(pk=newer)
    assert plan.chosen.meets_sla, plan.chosen.sla_risk
    assert plan.status == "approved" and plan.auto_approved
    event = AuditEvent.objects.get(plan_id=newer, action="plan.approved")
    assert event.actor == "system" and "auto-approve rule" in event.reason


def test_the_requester_of_an_auto_approved_plan_cannot_apply_it_alone(
    proposed, sre_a, online_workload, build, team_a, settings, make_user
):
    settings.AUTO_APPROVE_MAX_CHANGE_PCT, settings.AUTO_APPROVE_MAX_USD_PER_DAY = 50, 100
    apply_and_turn_auto_approve_on(proposed, sre_a, team_a)
    SLA.objects.filter(workload=online_workload).update(
        latency_percentile=50, latency_target_ms=1000
    )
    requester = token_client(make_user("sre-requester", role="sre", team=team_a))
    newer = request(requester, online_workload).data["id"]
    build(newer)
    assert ScalingPlan.objects.get(pk=newer).auto_approved
    alone = requester.post(f"/api/v1/plans/{newer}/apply/")
    assert alone.status_code == 403 and "four eyes" in str(alone.data)
    assert sre_a.post(f"/api/v1/plans/{newer}/apply/").status_code == 202


def test_auto_approve_is_off_by_default(proposed, sre_a, ci_a, online_workload, build):
    sre_a.post(f"/api/v1/plans/{proposed.pk}/approve/")
    sre_a.post(f"/api/v1/plans/{proposed.pk}/apply/")
    applying.execute_apply(proposed.pk)
    newer = request(ci_a, online_workload).data["id"]
    build(newer)
    assert ScalingPlan.objects.get(pk=newer).status == "proposed"


def test_a_plan_without_history_fails_with_the_reason(
    ci_a, team_a, catalog, online_workload, build
):
    online_workload.observations.all().delete()
    plan_id = request(ci_a, online_workload).data["id"]
    assert not services.prepare_forecast(plan_id)
    plan = ScalingPlan.objects.get(pk=plan_id)
    assert plan.status == "failed" and "0 observations of 'requests'" in plan.message


def test_a_fresh_forecast_is_computed_when_none_is_stored(ci_a, online_workload, build):
    plan_id = request(ci_a, online_workload).data["id"]
    build(plan_id)
    plan = ScalingPlan.objects.get(pk=plan_id)
    assert plan.status == "proposed", plan.message
    assert plan.forecast_run.status == "succeeded" and plan.forecast_run.interval_s == 60


def test_plan_requests_are_validated_and_need_a_write_role(ci_a, viewer_a, online_workload):
    bad = request(ci_a, online_workload, interval_s=10, colour="red")
    assert bad.status_code == 400 and set(field_errors(bad)) == {"colour"}
    bad = request(ci_a, online_workload, interval_s=10)
    assert bad.status_code == 400 and "interval_s" in field_errors(bad)
    assert request(viewer_a, online_workload).status_code == 403
    assert not ScalingPlan.objects.exists()


def test_the_audit_trail_is_append_only_even_in_sql(proposed):
    event = AuditEvent.objects.filter(plan_id=proposed.pk).first()
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(reason="edited")
    with pytest.raises(Exception, match="append-only"), connection.cursor() as cursor:
        cursor.execute("UPDATE plans_auditevent SET reason = 'edited' WHERE id = %s", [event.pk])


def test_the_audit_trail_is_filtered_and_exported_as_csv_by_finops(proposed, finops, sre_a, sre_b):
    listed = sre_a.get("/api/v1/audit-events/", {"plan_id": proposed.pk}).data
    assert [e["action"] for e in listed["results"]] == ["plan.proposed", "plan.requested"]
    assert sre_b.get("/api/v1/audit-events/").data["count"] == 0
    assert sre_a.get("/api/v1/audit-events/export/").status_code == 403
    response = finops.get("/api/v1/audit-events/export/", {"action": "plan.proposed"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert lines[0].startswith("id,at,actor,via,action")
    assert len(lines) == 2 and ",plan.proposed," in lines[1]


def test_guardrails_are_validated_and_set_by_sres(sre_a, viewer_a, online_workload, team_a):
    bad = sre_a.post(
        "/api/v1/guardrails/",
        {"team": "team-a", "change_windows": [{"days": ["mon"], "start": "25:00", "end": "01:00"}]},
        format="json",
    )
    assert bad.status_code == 400 and "change_windows[0].start" in str(bad.data)
    both = sre_a.post(
        "/api/v1/guardrails/", {"team": "team-a", "workload": online_workload.pk}, format="json"
    )
    assert both.status_code == 400
    options = sre_a.post(
        "/api/v1/guardrails/",
        {"team": "team-a", "allowed_purchase_options": ["spot", "cheap"]},
        format="json",
    )
    assert options.status_code == 400 and "allowed_purchase_options" in str(options.data)
    denied = viewer_a.post("/api/v1/guardrails/", {"team": "team-a"}, format="json")
    assert denied.status_code == 403
    made = sre_a.post(
        "/api/v1/guardrails/", {"team": "team-a", "budget_per_day_usd": 40}, format="json"
    )
    assert made.status_code == 201, made.data
    assert not Guardrail.objects.filter(workload__isnull=False).exists()
    assert (
        not AuditEvent.objects.filter(action__startswith="guardrail.")
        .exclude(action="guardrail.created")
        .exists()
    )
    changed = sre_a.patch(
        f"/api/v1/guardrails/{made.data['id']}/", {"budget_per_day_usd": 30}, format="json"
    )
    assert changed.status_code == 200, changed.data  # a lower budget only tightens
    removal = sre_a.delete(f"/api/v1/guardrails/{made.data['id']}/")
    assert removal.status_code == 202  # removing a budget loosens: a second person decides
    trail = AuditEvent.objects.filter(action__startswith="guardrail.").order_by("pk")
    assert [e.action for e in trail] == [
        "guardrail.created",
        "guardrail.changed",
        "guardrail.proposed",
    ]
    assert trail[1].detail["before"]["budget_per_day_usd"] == 40
    assert trail[1].detail["after"]["budget_per_day_usd"] == 30
    assert trail[2].detail["after"] is None and trail[2].actor == "sre-a"
    assert {e.team_id for e in trail} == {team_a.pk}


def test_a_due_schedule_requests_one_plan(online_workload, sre_user):
    PlanSchedule.objects.create(workload=online_workload, every_minutes=60, requested_by=sre_user)
    assert services.request_scheduled_plans() == 1
    assert services.request_scheduled_plans() == 0  # not due again for an hour
    plan = ScalingPlan.objects.get()
    assert plan.origin == "schedule" and plan.status == "draft"


def test_expire_due_plans_expires_only_the_overdue(proposed):
    assert services.expire_due_plans() == 0
    ScalingPlan.objects.filter(pk=proposed.pk).update(expires_at=timezone.now())
    assert services.expire_due_plans() == 1
    assert ScalingPlan.objects.get(pk=proposed.pk).status == "expired"


def test_due_schedules_fan_out_as_one_group_of_chains(
    online_workload, sre_user, team_a, django_capture_on_commit_callbacks
):
    import redis
    from django.conf import settings

    from apps.workloads.models import Workload

    other = Workload.objects.create(team=team_a, name="ranker-2", kind="online")
    for workload in (online_workload, other):
        PlanSchedule.objects.create(workload=workload, every_minutes=60, requested_by=sre_user)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("cpu")

    with django_capture_on_commit_callbacks(execute=True):
        assert services.request_scheduled_plans() == 2

    messages = [json.loads(m) for m in broker.lrange("cpu", 0, -1)]
    broker.delete("cpu")
    assert len(messages) == 2  # each chain's first link, sent together, on the cpu queue
    tasks = {m["headers"]["task"] for m in messages}
    assert tasks == {"apps.plans.tasks.forecast_for_plan"}


def test_each_candidate_is_replayed_inside_its_envelope_and_held_to_the_slas_percentile(
    proposed, ci_a
):
    plan = ci_a.get(f"/api/v1/plans/{proposed.pk}/").data
    (sla,) = [c for c in plan["guardrail_checks"] if c["rule"] == "sla"]
    for candidate in plan["front"]:
        measured = candidate["measured"]
        assert measured["policy"] == "ballast_controller"
        assert measured["replayed_h"] == pytest.approx(3, abs=0.05)
        assert measured["cost_per_day_usd"] > 0 and 0 <= measured["sla_violation_rate"] < 1
        assert candidate["meets_sla"] == (measured["sla_violation_rate"] <= 0.01)
    chosen = plan["front"][plan["chosen_index"]]
    assert sla["ok"] == chosen["meets_sla"] and "the SLA allows 1.00%" in sla["detail"]


def test_each_candidate_is_an_envelope_with_a_spend_ceiling_at_the_planned_prices(proposed, ci_a):
    plan = ci_a.get(f"/api/v1/plans/{proposed.pk}/").data
    prices = {o["name"]: o["price_per_hour_usd"] for o in proposed.problem["offers"]}
    assert {c["margin"] for c in plan["front"]} == {1.0, 2.0, 3.0}
    for candidate in plan["front"]:
        envelope, margin = candidate["envelope"], candidate["margin"]
        assert len(envelope["hours"]) == len(candidate["schedule"])
        assert envelope["variant"] in {e["variant"] for row in candidate["schedule"] for e in row}
        for hour, row in zip(envelope["hours"], candidate["schedule"], strict=True):
            planned = sum(e["count"] for e in row)
            assert hour["max_replicas"] == math.ceil(planned * margin - 1e-9)
            assert hour["min_non_spot"] == sum(
                e["count"] for e in row if not e["offer"].endswith("/spot")
            )
            assert hour["max_usd_per_hour"] == pytest.approx(
                margin * sum(prices[e["offer"]] * e["count"] for e in row), abs=1e-5
            )


def test_a_plan_whose_replay_breaks_its_sla_says_so_and_is_never_auto_approved(
    proposed, sre_a, ci_a, online_workload, build, team_a, monkeypatch
):
    from apps.plans import measure

    apply_and_turn_auto_approve_on(proposed, sre_a, team_a)
    replayed = measure.measure_candidates

    def breaking(*args, **kwargs):
        figures, note = replayed(*args, **kwargs)
        return [f | {"sla_violation_rate": 0.05} for f in figures], note

    monkeypatch.setattr(measure, "measure_candidates", breaking)
    newer = request(ci_a, online_workload).data["id"]
    build(newer)

    plan = ci_a.get(f"/api/v1/plans/{newer}/").data
    (sla,) = [c for c in plan["guardrail_checks"] if c["rule"] == "sla"]
    assert plan["status"] == "proposed" and not plan["auto_approved"]
    assert not sla["ok"] and not sla["blocking"] and "5.00% of requests" in sla["detail"]
    assert not any(c["meets_sla"] for c in plan["front"])
    reason = AuditEvent.objects.get(plan_id=newer, action="plan.proposed").reason
    assert reason.startswith("forecast ") and "; least late of" in reason
    assert "no candidate meets the SLA" in reason


def test_profiles_that_cannot_meet_the_sla_and_variants_under_the_accuracy_floor_are_left_out(
    ci_a, online_workload, stored_forecast, build
):
    CapacityProfile.objects.filter(variant__workload=online_workload).update(service_time_ms=40)
    plan_id = request(ci_a, online_workload).data["id"]
    build(plan_id)
    plan = ScalingPlan.objects.get(pk=plan_id)
    assert plan.status == "failed"
    assert "p99 under 100 ms is reachable (ruled out: ranker-small on c6i.xlarge)" in plan.message

    CapacityProfile.objects.filter(variant__workload=online_workload).update(service_time_ms=20)
    SLA.objects.filter(workload=online_workload).update(min_accuracy=0.95)
    plan_id = request(ci_a, online_workload).data["id"]
    build(plan_id)
    plan = ScalingPlan.objects.get(pk=plan_id)
    assert plan.status == "failed" and "at or above the SLA's accuracy floor 0.95" in plan.message


def keep_newest(workload, points):
    """The workload as a new one: only its newest `points` observations."""
    from apps.workloads.models import MetricObservation

    rows = MetricObservation.objects.filter(workload=workload, series="requests")
    newest = list(rows.order_by("-ts").values_list("pk", flat=True)[:points])
    rows.exclude(pk__in=newest).delete()


def test_a_new_workload_is_proposed_an_onboarding_plan_sized_for_its_slas_peak(
    ci_a, online_workload
):
    keep_newest(online_workload, 20)
    SLA.objects.filter(workload=online_workload).update(peak_rps=400.0)
    plan_id = request(ci_a, online_workload).data["id"]
    assert services.prepare_forecast(plan_id)
    services.build_plan(plan_id)
    plan = ScalingPlan.objects.get(pk=plan_id)
    assert plan.status == "proposed", plan.message
    assert plan.forecast_run is None
    assert plan.problem["demand"]["rps"] == [[400.0] * 24]
    start = plan.start_at
    assert start <= timezone.now() < start + timedelta(hours=1)  # from the current hour
    hours = plan.envelope_hours()
    assert len(hours) == 24 and len(set(hours)) == 1
    assert hours[0].max_replicas * 40 >= 400  # 40 rps a replica: the peak fits
    event = AuditEvent.objects.get(plan_id=plan_id, action="plan.proposed")
    assert "onboarding plan (fewer than 48 observations" in event.reason
    assert "peak of 400 rps" in event.reason


def test_a_new_workload_without_a_peak_gets_a_plan_failure_naming_the_field(ci_a, online_workload):
    keep_newest(online_workload, 20)
    plan_id = request(ci_a, online_workload).data["id"]
    assert not services.prepare_forecast(plan_id)
    plan = ScalingPlan.objects.get(pk=plan_id)
    assert plan.status == "failed"
    assert "20 observations of 'requests' are too few to forecast (48 needed)" in plan.message
    assert "peak_rps" in plan.message


def test_an_onboarding_plan_stays_one_when_metrics_arrive_between_its_two_links(
    ci_a, online_workload
):
    from apps.workloads.models import MetricObservation

    keep_newest(online_workload, 20)
    SLA.objects.filter(workload=online_workload).update(peak_rps=400.0)
    plan_id = request(ci_a, online_workload).data["id"]
    assert services.prepare_forecast(plan_id)
    newest = MetricObservation.objects.filter(workload=online_workload).latest("ts").ts
    MetricObservation.objects.bulk_create(
        MetricObservation(
            workload=online_workload,
            series="requests",
            ts=newest + timedelta(minutes=i + 1),
            value=6000.0,
        )
        for i in range(100)
    )
    services.build_plan(plan_id)
    plan = ScalingPlan.objects.get(pk=plan_id)
    assert plan.status == "proposed", plan.message
    assert plan.forecast_run is None and plan.problem["demand"]["rps"] == [[400.0] * 24]


def test_an_auto_approve_rule_above_the_operators_ceiling_is_refused(sre_a, team_a, settings):
    settings.AUTO_APPROVE_MAX_CHANGE_PCT = 10
    response = sre_a.post(
        "/api/v1/guardrails/",
        {"team": team_a.slug, "auto_approve": True, "auto_approve_max_change_pct": 100},
        format="json",
    )
    assert response.status_code == 400
    assert "between 0 and 10" in field_errors(response)["auto_approve_max_change_pct"][0]
    assert not Guardrail.objects.exists()
