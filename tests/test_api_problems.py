"""Every refusal is an RFC 9457 problem, and inputs are taken only as the schema writes them."""

import pytest

from conftest import field_errors

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["type"] == "about:blank" and body["status"] == status and body["code"] == code
    assert body["title"] and body["detail"] and body["instance"] == response.wsgi_request.path
    return body


def test_a_refused_field_is_named_in_errors_and_in_detail(ci_a):
    response = ci_a.post("/api/v1/plans/", {"workload": 999_999_999, "horizon_intervals": 0})

    body = assert_problem(response, 400, "invalid")
    assert set(field_errors(response)) == {"workload", "horizon_intervals"}
    assert {e["code"] for e in body["errors"]} == {"does_not_exist", "min_value"}
    assert body["detail"].startswith(body["errors"][0]["attr"] + ": ")
    assert body["detail"].endswith("(and 1 more error)")


def test_a_nested_field_is_named_by_its_path(sre_a, online_workload):
    target = {"workload": online_workload.pk, "kind": "k8s_deployment", "reference": "a/b", "x": 1}

    response = sre_a.post("/api/v1/deployment-targets/", target)

    assert_problem(response, 400, "invalid")
    assert field_errors(response) == {"x": ["unknown field"]}


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("offset=-1", "offset"),
        ("offset=2.5", "offset"),
    ],
)
def test_junk_pagination_is_refused_naming_the_parameter(ci_a, query, parameter):
    response = ci_a.get(f"/api/v1/workloads/?{query}")

    assert_problem(response, 400, "invalid")
    assert list(field_errors(response)) == [parameter]


def test_a_limit_over_the_page_size_is_lowered_not_refused(ci_a):
    assert ci_a.get("/api/v1/workloads/?limit=5000&offset=10").status_code == 200


@pytest.mark.parametrize("value", ["1", "yes", "True", ""])
def test_a_boolean_filter_takes_only_true_or_false(ci_a, value):
    response = ci_a.get(f"/api/v1/deployment-targets/?dry_run={value}")

    assert_problem(response, 400, "invalid")
    assert list(field_errors(response)) == ["dry_run"]


@pytest.mark.parametrize(
    "query", ["workload_id=0.5", "team_id=", "since=2026-11-01", "since=2026-11-01T00:00:00"]
)
def test_integer_empty_and_zoneless_filters_are_refused(finops, query):
    response = finops.get(f"/api/v1/audit-events/?{query}")

    assert_problem(response, 400, "invalid")
    assert list(field_errors(response)) == [query.split("=")[0]]


@pytest.mark.parametrize("dry_run", [1, 0, "yes", "true", None])
def test_a_boolean_field_takes_only_a_json_boolean(sre_a, online_workload, dry_run):
    target = {"workload": online_workload.pk, "kind": "k8s_deployment", "reference": "a/b"}

    response = sre_a.post("/api/v1/deployment-targets/", {**target, "dry_run": dry_run})

    assert_problem(response, 400, "invalid")
    assert list(field_errors(response)) == ["dry_run"]
    assert sre_a.post("/api/v1/deployment-targets/", {**target, "dry_run": True}).status_code == 201


def test_a_form_body_is_an_unsupported_media_type(ci_a):
    response = ci_a.post("/api/v1/plans/", {"workload": 1}, format="multipart")

    assert_problem(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/plans/999999999/", 404, "not_found"),
        ("/api/v1/no-such-thing/", 404, "not_found"),
        ("/api/v1/plans/1.5/", 404, "not_found"),
    ],
)
def test_what_does_not_exist_is_a_problem(ci_a, path, status, code):
    assert_problem(ci_a.get(path), status, code)


def test_no_credentials_and_wrong_methods_are_problems(client, ci_a):
    assert_problem(client.get("/api/v1/plans/"), 401, "not_authenticated")
    response = ci_a.delete("/api/v1/plans/")
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_a_body_over_the_limit_is_a_413_problem_naming_the_setting(ci_a, settings):
    settings.MAX_REQUEST_BYTES = 100

    response = ci_a.post("/api/v1/plans/", {"comment": "x" * 200})

    body = assert_problem(response, 413, "payload_too_large")
    assert "BALLAST_MAX_REQUEST_BYTES" in body["detail"]


def test_a_plan_refusal_is_a_problem_with_its_reason(ci_a, proposed):
    response = ci_a.post(f"/api/v1/plans/{proposed.pk}/approve/")

    body = assert_problem(response, 403, "permission_denied")
    assert "approve" in body["detail"]


def test_every_error_the_schema_documents_is_a_problem(sre_a):
    schema = sre_a.get("/api/schema/", {"format": "json"}).json()

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"400", "401", "403", "405", "500"} <= statuses, (method, path)
            assert ("404" in statuses) or "{" not in path, (method, path)
            assert ("413" in statuses) == (method in ("post", "put", "patch")), (method, path)
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert list(response["content"]) == [PROBLEM], (method, path, status)
