"""Every API operation is listed under the tag of its resource, and every tag is described."""

import pytest

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture(scope="module")
def schema():
    """The schema /api/schema/ serves (generated once: it takes seconds)."""
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield f"{method.upper()} {path}", operation


def test_every_operation_has_one_described_tag_and_every_tag_is_used(schema):
    described = [tag["name"] for tag in schema["tags"]]
    assert len(described) == len(set(described))
    assert all(tag["description"] for tag in schema["tags"])

    tags = {name: operation.get("tags") for name, operation in operations(schema)}
    assert len(tags) > 100
    assert {name: t for name, t in tags.items() if not (t and len(t) == 1)} == {}
    used = {t[0] for t in tags.values()}
    assert "v1" not in used  # the old catch-all
    assert used == set(described)


def test_operations_sit_under_their_resource(schema):
    expected = {
        "GET /api/v1/workloads/": "workloads",
        "POST /api/v1/workloads/{id}/observations/delete/": "workloads",
        "POST /api/v1/metric-sources/{id}/pull/": "metrics",
        "GET /api/v1/forecast-runs/{id}/points/": "forecasts",
        "POST /api/v1/plans/{id}/apply/": "plans",
        "POST /api/v1/guardrail-changes/{id}/approve/": "guardrails",
        "GET /api/v1/offers/": "catalog",
        "GET /api/v1/billed-costs/": "billing",
        "POST /api/v1/webhooks/{id}/rotate-secret/": "webhooks",
        "POST /api/v1/auth/logout-all/": "tokens",
        "GET /api/v1/audit-events/export/": "audit",
        "GET /api/v1/control-decisions/": "control",
    }
    tags = {name: operation["tags"] for name, operation in operations(schema)}
    assert {name: tags[name] for name in expected} == {n: [t] for n, t in expected.items()}
