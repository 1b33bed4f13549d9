"""The plan pages: request from the browser, decide with CSRF-protected forms, role-aware."""

import re

from django.test import Client

from apps.plans.models import AuditEvent, ScalingPlan


def signed_in(user, *, csrf=False):
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def test_an_sre_requests_a_plan_from_the_workload_page(
    online_workload, django_user_model, sre_a, django_capture_on_commit_callbacks
):
    sre = django_user_model.objects.get(username="sre-a")
    client = signed_in(sre)
    page = client.get(f"/workloads/{online_workload.pk}/plans/").content.decode()
    assert "Request a plan" in page

    response = client.post(f"/workloads/{online_workload.pk}/plans/request/")

    plan = ScalingPlan.objects.get()
    assert response.status_code == 302 and response.url == f"/plans/{plan.pk}/"
    assert (plan.origin, plan.requested_by) == ("page", sre)
    assert AuditEvent.objects.get(action="plan.requested").via == "page"


def test_a_viewer_sees_no_request_button_and_cannot_post(
    online_workload, django_user_model, viewer_a
):
    viewer = django_user_model.objects.get(username="viewer-a")
    client = signed_in(viewer)
    assert (
        "Request a plan"
        not in client.get(f"/workloads/{online_workload.pk}/plans/").content.decode()
    )
    client.post(f"/workloads/{online_workload.pk}/plans/request/")
    assert not ScalingPlan.objects.exists()


def test_an_sre_approves_on_the_plan_page_and_finops_sees_no_button(
    proposed, django_user_model, finops
):
    sre = django_user_model.objects.get(username="sre-a")
    page = signed_in(sre).get(f"/plans/{proposed.pk}/").content.decode()
    assert "Approve" in page and "guardrail" in page.lower()
    # Each candidate says what it was planned at, what its replay measured, its ceilings and
    # which solver found it.
    found = re.findall(r"<td>([A-Z-]+), ceilings (x\d)</td>", page)
    assert {ceilings for _, ceilings in found} == {"x1", "x2", "x3"}
    assert {solver for solver, _ in found} <= {"MILP", "GA-PSO"}
    assert any(solver == "MILP" for solver, _ in found)
    assert "Planned $/day" in page and re.search(
        r"<td>\$\d+\.\d\d/day, (&lt; )?[\d.]+ % late</td>", page
    )
    finops_page = signed_in(django_user_model.objects.get(username="finops")).get(
        f"/plans/{proposed.pk}/"
    )
    assert "Approve" not in finops_page.content.decode()

    response = signed_in(sre).post(f"/plans/{proposed.pk}/approve/", {"comment": "ok"})

    assert response.status_code == 302
    assert ScalingPlan.objects.get(pk=proposed.pk).status == "approved"
    assert AuditEvent.objects.get(plan_id=proposed.pk, action="plan.approved").via == "page"


def test_decision_forms_need_the_csrf_token(proposed, django_user_model):
    sre = django_user_model.objects.get(username="sre-a")
    response = signed_in(sre, csrf=True).post(f"/plans/{proposed.pk}/approve/")
    assert response.status_code == 403
    assert ScalingPlan.objects.get(pk=proposed.pk).status == "proposed"


def test_a_refusal_is_shown_not_raised(proposed, django_user_model):
    requester = django_user_model.objects.get(username="ci-a")
    response = signed_in(requester).post(f"/plans/{proposed.pk}/approve/", follow=True)
    assert "four eyes" in response.content.decode()
    assert ScalingPlan.objects.get(pk=proposed.pk).status == "proposed"
