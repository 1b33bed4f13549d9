"""Two SREs approve the same plan at the same instant: one approval, one refusal."""

import threading

import pytest
from django.db import connection

from apps.plans import services
from apps.plans.models import AuditEvent, ScalingPlan


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_approvals_give_one(
    ci_a, online_workload, stored_forecast, build, make_user, team_a
):
    plan_id = ci_a.post("/api/v1/plans/", {"workload": online_workload.pk}).data["id"]
    build(plan_id)
    approvers = [make_user(f"sre-{i}", role="sre", team=team_a) for i in range(2)]
    barrier = threading.Barrier(len(approvers))
    outcomes = []

    def approve(user):
        try:
            barrier.wait()
            services.approve_plan(plan_id, user=user, via="api")
            outcomes.append("approved")
        except services.PlanConflict as exc:
            outcomes.append(exc.reason)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=approve, args=(user,)) for user in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes)[0] == "approved" and outcomes.count("approved") == 1, outcomes
    assert ScalingPlan.objects.get(pk=plan_id).status == "approved"
    assert AuditEvent.objects.filter(plan_id=plan_id, action="plan.approved").count() == 1
