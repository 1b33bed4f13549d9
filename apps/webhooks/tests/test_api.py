import pytest
from django.db import connection

from apps.webhooks import services
from apps.webhooks.models import Webhook
from apps.webhooks.tests.factories import WebhookDeliveryFactory, WebhookFactory
from conftest import field_errors

NEW = {"team": "team-a", "url": "https://hooks.example.com/ballast", "events": ["plan.approved"]}


def create(client, **changes):
    return client.post("/api/v1/webhooks/", NEW | changes, format="json")


def test_an_sre_creates_a_webhook_and_sees_its_secret_once(sre_a):
    created = create(sre_a)

    assert created.status_code == 201, created.data
    webhook = Webhook.objects.get()
    assert created.data["secret"] == services.secret_of(webhook)
    assert created.data["created_by"] == "sre-a" and created.data["active"] is True
    for response in (sre_a.get(f"/api/v1/webhooks/{webhook.pk}/"), sre_a.get("/api/v1/webhooks/")):
        assert response.status_code == 200
        assert "secret" not in response.content.decode()
        assert created.data["secret"] not in response.content.decode()


def test_the_secret_is_not_stored_in_the_database(sre_a):
    secret = create(sre_a).data["secret"]

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM webhooks_webhook")
        rows = cursor.fetchall()

    assert rows and secret not in repr(rows)


def test_rotating_the_secret_issues_a_new_one_for_sres_only(sre_a, ci_a):
    created = create(sre_a).data
    url = f"/api/v1/webhooks/{created['id']}/rotate-secret/"

    refused = ci_a.post(url)
    rotated = sre_a.post(url)

    assert refused.status_code == 403
    assert rotated.status_code == 200 and rotated.data["secret"] != created["secret"]
    assert rotated.data["secret"] == services.secret_of(Webhook.objects.get())


@pytest.mark.parametrize("reader", ["ci_a", "viewer_a", "finops"])
def test_other_roles_read_but_cannot_create_change_delete_or_rotate(request, reader, team_a):
    client = request.getfixturevalue(reader)
    webhook = WebhookFactory(team=team_a)
    url = f"/api/v1/webhooks/{webhook.pk}/"

    assert client.get(url).status_code == 200
    assert create(client).status_code == 403
    assert client.patch(url, {"active": False}, format="json").status_code == 403
    assert client.delete(url).status_code == 403
    assert client.post(url + "rotate-secret/").status_code == 403
    assert Webhook.objects.get().active


def test_another_team_cannot_see_change_or_create_in_team_a(sre_b, team_a):
    webhook = WebhookFactory(team=team_a)
    WebhookDeliveryFactory(webhook=webhook)
    url = f"/api/v1/webhooks/{webhook.pk}/"

    assert sre_b.get("/api/v1/webhooks/").data["results"] == []
    assert sre_b.get("/api/v1/webhook-deliveries/").data["results"] == []
    assert sre_b.get(url).status_code == 404
    assert sre_b.patch(url, {"active": False}, format="json").status_code == 404
    assert sre_b.post(url + "rotate-secret/").status_code == 404
    assert create(sre_b).status_code == 403


def test_anonymous_requests_are_refused(client, team_a):
    webhook = WebhookFactory(team=team_a)

    assert client.get("/api/v1/webhooks/").status_code in (401, 403)
    assert client.post("/api/v1/webhooks/", NEW).status_code in (401, 403)
    assert client.post(f"/api/v1/webhooks/{webhook.pk}/rotate-secret/").status_code in (401, 403)
    assert client.get("/api/v1/webhook-deliveries/").status_code in (401, 403)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"secret": "mine"}, "secret"),
        ({"salt": "x"}, "salt"),
        ({"url": "ftp://hooks.example.com/"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"events": ["plan.exploded"]}, "events"),
        ({"events": []}, "events"),
        ({"events": "plan.approved"}, "events"),
    ],
)
def test_bad_input_is_refused_naming_the_field(sre_a, changes, field):
    response = create(sre_a, **changes)

    assert response.status_code == 400
    assert field in {attr.split(".")[0] for attr in field_errors(response)}, response.data
    assert not Webhook.objects.exists()


def test_an_sre_updates_events_and_active_but_cannot_move_or_put(sre_a, team_a, team_b):
    webhook = WebhookFactory(team=team_a)
    url = f"/api/v1/webhooks/{webhook.pk}/"
    secret = services.secret_of(webhook)

    patched = sre_a.patch(
        url, {"events": ["plan.applied", "plan.proposed"], "active": False}, format="json"
    )
    moved = sre_a.patch(url, {"team": "team-b"}, format="json")
    put = sre_a.put(url, NEW, format="json")

    assert patched.status_code == 200, patched.data
    assert patched.data["events"] == ["plan.proposed", "plan.applied"]
    assert patched.data["active"] is False
    assert moved.status_code == 400 and "team" in field_errors(moved)
    assert put.status_code == 405
    assert services.secret_of(Webhook.objects.get()) == secret


def test_an_sre_deletes_a_webhook_with_its_deliveries(sre_a, team_a):
    webhook = WebhookFactory(team=team_a)
    WebhookDeliveryFactory(webhook=webhook)

    assert sre_a.delete(f"/api/v1/webhooks/{webhook.pk}/").status_code == 204
    assert not Webhook.objects.exists()


def test_deliveries_are_filtered_by_webhook_and_status(viewer_a, team_a):
    first, second = WebhookFactory(team=team_a), WebhookFactory(team=team_a)
    failed = WebhookDeliveryFactory(webhook=first, status="failed", last_status_code=410)
    WebhookDeliveryFactory(webhook=first)
    WebhookDeliveryFactory(webhook=second, status="failed")

    rows = viewer_a.get(
        "/api/v1/webhook-deliveries/", {"webhook": first.pk, "status": "failed"}
    ).data["results"]

    assert [row["id"] for row in rows] == [failed.pk]
    assert rows[0]["last_status_code"] == 410 and rows[0]["delivery_id"] == str(failed.delivery_id)
    assert viewer_a.post("/api/v1/webhook-deliveries/", {}).status_code == 405


def test_the_schema_documents_the_signature_headers(sre_a):
    schema = sre_a.get("/api/schema/", {"format": "json"}).json()

    create_operation = schema["paths"]["/api/v1/webhooks/"]["post"]
    assert "X-Ballast-Signature" in create_operation["description"]
    assert "X-Ballast-Timestamp" in create_operation["description"]
    assert "/api/v1/webhooks/{id}/rotate-secret/" in schema["paths"]
    assert "/api/v1/webhook-deliveries/" in schema["paths"]
