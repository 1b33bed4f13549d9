"""The API as a whole: a valid OpenAPI schema, docs, and no endpoint open to anonymous users."""

import pytest
from openapi_spec_validator import validate

from apps.accounts.models import Role


@pytest.fixture
def schema(sre_a):
    response = sre_a.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_schema_is_valid_openapi_3_and_covers_every_resource(schema):
    validate(schema)

    paths = set(schema["paths"])
    for resource in (
        "providers",
        "regions",
        "instance-types",
        "offers",
        "serverless-offers",
        "workloads",
        "slas",
        "model-variants",
        "deployment-targets",
        "metric-observations",
        "trace-imports",
        "optimization-runs",
        "plans",
        "guardrails",
        "plan-schedules",
        "audit-events",
        "webhooks",
        "webhook-deliveries",
        "metric-sources",
    ):
        assert f"/api/v1/{resource}/" in paths
    assert "/api/v1/workloads/{id}/metrics/" in paths
    for action in ("approve", "reject", "choose", "apply"):
        assert f"/api/v1/plans/{{id}}/{action}/" in paths
    assert "/api/v1/audit-events/export/" in paths


def test_every_api_operation_refuses_anonymous_requests(client, schema):
    methods = ("get", "post", "put", "patch", "delete")
    checked = 0
    for path, operations in schema["paths"].items():
        url = path.replace("{id}", "1")
        for method in methods:
            if method in operations:
                response = getattr(client, method)(url)
                assert response.status_code in (401, 403), (method, path, response.status_code)
                checked += 1
    assert checked > 30
    assert client.get("/api/schema/").status_code in (401, 403)


def test_docs_page_renders_for_a_signed_in_user_and_sends_others_to_sign_in(
    client, make_user, team_a
):
    anonymous = client.get("/api/docs/")
    client.force_login(make_user("reader", role=Role.VIEWER, team=team_a))
    signed_in = client.get("/api/docs/")

    assert anonymous.status_code == 302 and anonymous.url.startswith("/accounts/login/")
    assert signed_in.status_code == 200 and b"swagger-ui" in signed_in.content


def test_home_page_lists_only_the_users_teams_workloads(client, make_user, team_a, team_b):
    from apps.workloads.tests.factories import WorkloadFactory

    WorkloadFactory(team=team_a, name="mine")
    WorkloadFactory(team=team_b, name="theirs")
    client.force_login(make_user("sre", role=Role.SRE, team=team_a))

    page = client.get("/").content.decode()

    assert "mine" in page and "theirs" not in page


def test_forms_are_csrf_protected(make_user, team_a):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    make_user("someone", role=Role.SRE, team=team_a)

    response = client.post("/accounts/login/", {"username": "someone", "password": "x-someone"})

    assert response.status_code == 403
