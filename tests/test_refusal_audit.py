"""Every refused write is on the audit trail, once, and a flood of them is bounded."""

import pytest
from django.http import HttpResponse, JsonResponse
from django.test import Client, override_settings

from apps.plans.models import AuditEvent
from controlplane.refusals import refusal_reason


def refused() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action__startswith="refused").order_by("pk"))


def test_an_anonymous_write_is_recorded_with_its_address_and_the_reason(client, db):
    response = client.post("/api/v1/plans/", {"workload": 1}, REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 401
    (event,) = refused()
    assert (event.action, event.actor, event.via, event.team_id) == (
        "refused",
        "anonymous",
        "api",
        0,
    )
    assert event.detail == {
        "method": "POST",
        "path": "/api/v1/plans/",
        "status": 401,
        "address": "203.0.113.7",
    }
    assert event.reason == f"401: {response.json()['detail']}"


def test_a_members_refused_write_names_them_and_a_refused_read_is_not_recorded(viewer_a, team_a):
    assert viewer_a.get("/api/v1/plans/").status_code == 200
    assert viewer_a.get("/api/v1/audit-events/export/").status_code == 403  # a read: not recorded
    response = viewer_a.post(
        "/api/v1/workloads/", {"team": "team-a", "name": "x", "kind": "online"}, format="json"
    )

    assert response.status_code == 403
    (event,) = refused()
    assert (event.actor, event.via, event.detail["method"]) == ("viewer-a", "token", "POST")
    assert event.reason.startswith("403: ") and len(event.reason) > len("403: ")


def test_a_page_post_without_its_csrf_token_is_recorded(make_user, team_a):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("sre-a", role="sre", team=team_a))

    assert browser.post("/accounts/logout/").status_code == 403

    (event,) = refused()
    assert (event.actor, event.via, event.detail["path"]) == ("sre-a", "page", "/accounts/logout/")


def test_a_sign_in_lockout_is_recorded_with_the_username_tried(client, make_user, team_a):
    make_user("sre-a", role="sre", team=team_a)
    answers = [
        client.post("/accounts/login/", {"username": "sre-a", "password": "wrong"}).status_code
        for _ in range(6)
    ]

    assert answers[:4] == [200] * 4 and answers[4:] == [429, 429]  # wrong passwords: not refusals
    events = refused()
    assert [e.detail["status"] for e in events] == [429, 429]
    assert (events[0].actor, events[0].detail["username"]) == ("anonymous", "sre-a")


@override_settings(AUDIT_REFUSALS_PER_MINUTE=3, AUDIT_REFUSALS_PER_MINUTE_TOTAL=100)
def test_a_flood_from_one_address_is_recorded_three_times_then_marked_once(client, db):
    for _ in range(20):
        assert client.post("/api/v1/plans/", REMOTE_ADDR="198.51.100.1").status_code == 401
    client.post("/api/v1/plans/", REMOTE_ADDR="198.51.100.2")

    actions = [(e.action, e.detail["address"]) for e in refused()]
    assert actions == [
        ("refused", "198.51.100.1"),
        ("refused", "198.51.100.1"),
        ("refused", "198.51.100.1"),
        ("refused.throttled", "198.51.100.1"),
        ("refused", "198.51.100.2"),  # another source has its own bound
    ]


@override_settings(AUDIT_REFUSALS_PER_MINUTE=100, AUDIT_REFUSALS_PER_MINUTE_TOTAL=5)
def test_a_flood_from_many_addresses_is_bounded_for_everyone(client, db):
    for i in range(30):
        client.post("/api/v1/plans/", REMOTE_ADDR=f"198.51.100.{i}")

    assert [e.action for e in refused()] == ["refused"] * 5 + ["refused.throttled"]


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (
            JsonResponse(
                {"type": "about:blank", "title": "Conflict", "status": 409, "detail": "plan ended"},
                status=409,
                content_type="application/problem+json",
            ),
            "plan ended",
        ),
        (
            JsonResponse({"detail": "You do not have permission."}, status=403),
            "You do not have permission.",
        ),
        (JsonResponse({"title": "Locked", "status": 423}, status=423), "Locked"),
        (
            JsonResponse({"detail": {"reference": ["taken"]}}, status=409),
            '{"reference": ["taken"]}',
        ),
        (JsonResponse(["not allowed"], safe=False, status=403), '["not allowed"]'),
        (HttpResponse("<h1>Sign-in locked</h1>", status=429), "Too Many Requests"),
        (HttpResponse("{not json", status=403, content_type="application/json"), "Forbidden"),
    ],
)
def test_the_reason_is_read_from_detail_robustly(response, reason):
    assert refusal_reason(response) == reason


def test_a_plan_decision_refused_on_its_page_is_recorded_too(proposed, viewer_a, django_user_model):
    browser = Client()
    browser.force_login(django_user_model.objects.get(username="viewer-a"))

    answer = browser.post(f"/plans/{proposed.pk}/approve/", follow=True)

    assert answer.status_code == 200  # the page shows the refusal as a message
    (event,) = refused()
    assert (event.actor, event.via, event.detail["status"]) == ("viewer-a", "page", 403)
    assert event.detail["path"] == f"/plans/{proposed.pk}/approve/"
    assert event.reason.startswith("403: ") and event.reason[5:] in answer.content.decode()
