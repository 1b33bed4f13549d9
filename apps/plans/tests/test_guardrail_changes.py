"""Guardrail changes by two people: tightening applies at once, loosening waits for a second."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.plans import guardrail_changes
from apps.plans.lifecycle import PlanConflict, PlanForbidden
from apps.plans.models import AuditEvent, Guardrail, GuardrailChange
from conftest import token_client


@pytest.fixture
def sre_a2(make_user, team_a):
    """A second SRE of team A."""
    return token_client(make_user("sre-a2", role="sre", team=team_a))


@pytest.fixture
def budget(sre_a, team_a):
    """Team A's guardrail: $40/day, made by sre-a alone (a new limit only tightens)."""
    made = sre_a.post("/api/v1/guardrails/", {"team": "team-a", "budget_per_day_usd": 40})
    assert made.status_code == 201, made.data
    return Guardrail.objects.get(pk=made.data["id"])


def trail(prefix="guardrail."):
    return list(AuditEvent.objects.filter(action__startswith=prefix).order_by("pk"))


def test_a_change_that_only_tightens_applies_at_once_by_one_person(sre_a, budget):
    changed = sre_a.patch(
        f"/api/v1/guardrails/{budget.pk}/",
        {"budget_per_day_usd": 30, "min_replicas": 2, "allowed_purchase_options": ["on_demand"]},
        format="json",
    )
    assert changed.status_code == 200, changed.data
    budget.refresh_from_db()
    assert (budget.budget_per_day_usd, budget.min_replicas) == (30, 2)
    last = trail()[-1]
    assert last.action == "guardrail.changed" and last.actor == "sre-a"
    assert last.detail["before"]["budget_per_day_usd"] == 40
    assert last.detail["after"]["budget_per_day_usd"] == 30 and last.detail["loosens"] == []


def test_switching_auto_approve_on_waits_for_a_second_sre(sre_a, sre_a2, budget):
    proposed = sre_a.patch(f"/api/v1/guardrails/{budget.pk}/", {"auto_approve": True})
    assert proposed.status_code == 202, proposed.data
    assert proposed.data["status"] == "pending" and proposed.data["loosened"] == ["auto_approve"]
    budget.refresh_from_db()
    assert budget.auto_approve is False
    change = proposed.data["id"]

    own = sre_a.post(f"/api/v1/guardrail-changes/{change}/approve/", {})
    assert own.status_code == 403 and "four eyes" in str(own.data)
    approved = sre_a2.post(f"/api/v1/guardrail-changes/{change}/approve/", {"comment": "ok"})
    assert approved.status_code == 200, approved.data
    assert approved.data["status"] == "applied" and approved.data["decided_by"] == "sre-a2"
    budget.refresh_from_db()
    assert budget.auto_approve is True
    proposal, applied = trail()[-2:]
    assert (proposal.action, proposal.actor) == ("guardrail.proposed", "sre-a")
    assert (applied.action, applied.actor) == ("guardrail.changed", "sre-a2")
    assert applied.detail["proposed_by"] == "sre-a" and applied.detail["approved_by"] == "sre-a2"
    assert applied.detail["before"]["auto_approve"] is False
    assert applied.detail["after"]["auto_approve"] is True
    again = sre_a2.post(f"/api/v1/guardrail-changes/{change}/approve/", {})
    assert again.status_code == 409


def test_raising_a_budget_or_removing_a_guardrail_is_pending(sre_a, sre_a2, budget):
    raised = sre_a.patch(f"/api/v1/guardrails/{budget.pk}/", {"budget_per_day_usd": 90})
    assert raised.status_code == 202 and raised.data["loosened"] == ["budget_per_day_usd"]
    removed = sre_a.delete(f"/api/v1/guardrails/{budget.pk}/")
    assert removed.status_code == 202 and removed.data["values"] is None
    assert Guardrail.objects.filter(pk=budget.pk).exists()
    listed = sre_a2.get("/api/v1/guardrail-changes/", {"status": "pending"}).data
    assert listed["count"] == 2
    ok = sre_a2.post(f"/api/v1/guardrail-changes/{removed.data['id']}/approve/", {})
    assert ok.status_code == 200, ok.data
    assert not Guardrail.objects.filter(pk=budget.pk).exists()
    assert trail()[-1].action == "guardrail.removed" and trail()[-1].detail["after"] is None


def test_a_workload_guardrail_above_its_teams_budget_loosens_it(sre_a, budget, online_workload):
    looser = sre_a.post(
        "/api/v1/guardrails/", {"workload": online_workload.pk, "budget_per_day_usd": 80}
    )
    assert looser.status_code == 202 and looser.data["loosened"] == ["budget_per_day_usd"]
    tighter = sre_a.post(
        "/api/v1/guardrails/", {"workload": online_workload.pk, "budget_per_day_usd": 20}
    )
    assert tighter.status_code == 201, tighter.data


def test_finops_and_an_sre_make_two_people_but_two_finops_do_not(
    finops, make_user, sre_a, team_a, budget
):
    other_finops = token_client(make_user("finops-2", role="finops"))
    proposed = finops.patch(f"/api/v1/guardrails/{budget.pk}/", {"budget_per_day_usd": 60})
    assert proposed.status_code == 202, proposed.data
    change = proposed.data["id"]
    refused = other_finops.post(f"/api/v1/guardrail-changes/{change}/approve/", {})
    assert refused.status_code == 403 and "an SRE of team-a" in str(refused.data)
    approved = sre_a.post(f"/api/v1/guardrail-changes/{change}/approve/", {})
    assert approved.status_code == 200, approved.data

    # and the other way round: an SRE proposes, FinOps approves
    again = sre_a.patch(f"/api/v1/guardrails/{budget.pk}/", {"budget_per_day_usd": 70})
    assert finops.post(f"/api/v1/guardrail-changes/{again.data['id']}/approve/").status_code == 200
    budget.refresh_from_db()
    assert budget.budget_per_day_usd == 70


def test_viewers_ci_and_other_teams_cannot_approve(sre_a, viewer_a, ci_a, sre_b, budget):
    change = sre_a.patch(f"/api/v1/guardrails/{budget.pk}/", {"budget_per_day_usd": 60}).data
    url = f"/api/v1/guardrail-changes/{change['id']}/approve/"
    assert viewer_a.post(url, {}).status_code == 403
    assert ci_a.post(url, {}).status_code == 403
    assert sre_b.post(url, {}).status_code == 404  # another team's change is not visible
    assert GuardrailChange.objects.get(pk=change["id"]).status == "pending"


def test_a_change_to_a_guardrail_that_changed_since_is_refused_as_stale(sre_a, sre_a2, budget):
    pending = sre_a.patch(f"/api/v1/guardrails/{budget.pk}/", {"budget_per_day_usd": 80}).data
    tightened = sre_a2.patch(f"/api/v1/guardrails/{budget.pk}/", {"min_replicas": 1})
    assert tightened.status_code == 200
    stale = sre_a2.post(f"/api/v1/guardrail-changes/{pending['id']}/approve/", {})
    assert stale.status_code == 409 and "stale" in str(stale.data)
    assert GuardrailChange.objects.get(pk=pending["id"]).status == "stale"
    budget.refresh_from_db()
    assert budget.budget_per_day_usd == 40
    assert trail()[-1].action == "guardrail.change_stale"


def test_an_expired_change_is_refused_and_swept(sre_a, sre_a2, budget, team_a, make_user):
    first = sre_a.patch(f"/api/v1/guardrails/{budget.pk}/", {"budget_per_day_usd": 80}).data
    second = sre_a.patch(f"/api/v1/guardrails/{budget.pk}/", {"budget_per_day_usd": 90}).data
    GuardrailChange.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    late = sre_a2.post(f"/api/v1/guardrail-changes/{first['id']}/approve/", {})
    assert late.status_code == 409 and "expired" in str(late.data)
    assert guardrail_changes.expire_due_changes() == 1
    assert GuardrailChange.objects.get(pk=second["id"]).status == "expired"
    assert [e.action for e in trail("guardrail.change_")] == ["guardrail.change_expired"] * 2


def test_the_proposer_withdraws_and_the_team_rejects(sre_a, sre_a2, viewer_a, budget):
    mine = sre_a.patch(f"/api/v1/guardrails/{budget.pk}/", {"budget_per_day_usd": 80}).data
    assert viewer_a.post(f"/api/v1/guardrail-changes/{mine['id']}/reject/").status_code == 403
    withdrawn = sre_a.post(f"/api/v1/guardrail-changes/{mine['id']}/reject/", {"comment": "typo"})
    assert withdrawn.status_code == 200 and withdrawn.data["status"] == "rejected"
    theirs = sre_a.patch(f"/api/v1/guardrails/{budget.pk}/", {"budget_per_day_usd": 85}).data
    rejected = sre_a2.post(f"/api/v1/guardrail-changes/{theirs['id']}/reject/")
    assert rejected.status_code == 200 and rejected.data["decided_by"] == "sre-a2"
    assert [e.actor for e in trail("guardrail.change_rejected")] == ["sre-a", "sre-a2"]
    budget.refresh_from_db()
    assert budget.budget_per_day_usd == 40


def test_a_token_without_the_approve_scope_cannot_approve(sre_a, make_user, team_a, budget):
    scoped = token_client(make_user("sre-a3", role="sre", team=team_a), scopes=["guardrails:write"])
    change = sre_a.patch(f"/api/v1/guardrails/{budget.pk}/", {"budget_per_day_usd": 80}).data
    refused = scoped.post(f"/api/v1/guardrail-changes/{change['id']}/approve/", {})
    assert refused.status_code == 403 and "guardrails:approve" in str(refused.data)


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_approvals_of_a_guardrail_change_give_one(make_user, team_a):
    proposer = make_user("sre-p", role="sre", team=team_a)
    Guardrail.objects.create(team=team_a, budget_per_day_usd=40)
    _, change = guardrail_changes.change_guardrail(
        team=team_a,
        workload=None,
        values=guardrail_changes.values_of(Guardrail(budget_per_day_usd=90)),
        by=proposer,
        via="api",
    )
    approvers = [make_user(f"sre-{i}", role="sre", team=team_a) for i in range(4)]
    barrier = threading.Barrier(len(approvers))
    outcomes = []

    def approve(user):
        try:
            barrier.wait()
            guardrail_changes.approve_change(change.pk, user=user, via="api")
            outcomes.append("applied")
        except (PlanConflict, PlanForbidden) as exc:
            outcomes.append(exc.reason)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(user,)) for user in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("applied") == 1, outcomes
    assert all("no longer pending" in o for o in outcomes if o != "applied"), outcomes
    assert AuditEvent.objects.filter(action="guardrail.changed").count() == 1
    assert Guardrail.objects.get(team=team_a).budget_per_day_usd == 90
