"""A list field longer than it may be is refused at once: one error, not one per item.

DRF validates every item of a list before it checks the list's length, so 20,000 items in a
1 MB body made 20,000 errors: 3 MB of answer and 2 to 4 s of the web process
(benchmarks/request_bounds.py). Each list the API takes now says how long it may be.
"""

import pytest

from apps.accounts.api.serializers import TokenRequestSerializer
from apps.workloads.tests.factories import WorkloadFactory
from conftest import token_client

ITEMS = 20_000


@pytest.fixture
def sre(make_user, team_a):
    """An SRE of team A who is also FinOps staff, so every write below reaches validation."""
    user = make_user("sre-finops", role="sre", team=team_a)
    user.groups.add(make_user("finops", role="finops").groups.get())
    return token_client(user)


def long_lists(team, workload) -> dict[str, tuple[str, dict]]:
    """Field -> (path, a body whose field holds ITEMS items)."""
    return {
        "allowed_purchase_options": (
            "/api/v1/guardrails/",
            {"workload": workload.pk, "allowed_purchase_options": ["spot"] * ITEMS},
        ),
        "events": (
            "/api/v1/webhooks/",
            {"team": team.slug, "url": "https://hooks.example.com/b", "events": ["x"] * ITEMS},
        ),
        "quantiles": (
            "/api/v1/forecast-runs/",
            {"workload": workload.pk, "model": "auto", "horizon": 1, "quantiles": [2.0] * ITEMS},
        ),
        "capacity_profiles": (
            "/api/v1/model-variants/",
            {
                "workload": workload.pk,
                "name": "v",
                "accuracy": 0.9,
                "capacity_profiles": [{"instance_type": "none"}] * ITEMS,
            },
        ),
    }


@pytest.mark.parametrize(
    "field", ["allowed_purchase_options", "events", "quantiles", "capacity_profiles"]
)
def test_a_list_too_long_is_refused_with_one_short_error(sre, team_a, field):
    path, body = long_lists(team_a, WorkloadFactory(team=team_a))[field]

    response = sre.post(path, body, format="json")

    assert response.status_code == 400
    assert len(response.content) < 2_000  # one error naming the field's limit


def test_a_token_request_with_too_many_scopes_is_refused_with_one_error():
    request = TokenRequestSerializer(data={"scopes": ["plans:approve"] * ITEMS, "days": 1})

    assert not request.is_valid()
    assert len(str(request.errors["scopes"])) < 500
