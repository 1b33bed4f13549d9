"""Fixtures shared by every Django test: teams, users in their roles, API clients.

Imports of Django code stay inside the fixtures, so the library tests (tests/forecasting and
friends) also run without Django: `pytest -p no:django tests/forecasting`.
"""

import pytest

# Shared fixtures, registered once for every test module: plans (a proposed plan on a plannable
# workload) and moto in server mode. Their modules import Django only inside the fixtures.
pytest_plugins = ["apps.plans.tests.fixtures", "tests.actuators.moto_server"]


@pytest.fixture
def team_a(db):
    """The team most tests act in."""
    from apps.accounts.models import Team

    # Tests grant every target reference; tests of the grant narrow it.
    return Team.objects.create(slug="team-a", name="Team A", target_references=["*"])


@pytest.fixture
def team_b(db):
    """Another team, whose rows team A must never see."""
    from apps.accounts.models import Team

    return Team.objects.create(slug="team-b", name="Team B", target_references=["*"])


@pytest.fixture
def make_user(db, django_user_model):
    """Create a user holding `role` in `team` (or FinOps staff with role='finops')."""
    from django.contrib.auth.models import Group

    from apps.accounts.models import FINOPS_GROUP, Role, TeamMembership

    def make(username: str, *, role: str, team=None):
        user = django_user_model.objects.create_user(username=username, password="x-" + username)
        if role == FINOPS_GROUP:
            user.groups.add(Group.objects.get_or_create(name=FINOPS_GROUP)[0])
        else:
            TeamMembership.objects.create(team=team, user=user, role=Role(role))
        return user

    return make


def token_client(user, scopes=None):
    """An API client authenticating as `user` with a real token, as CI does.

    `scopes` limits the token (`[]`: read-only); None leaves it unrestricted, within the role.
    """
    from knox.models import AuthToken
    from rest_framework.test import APIClient

    from apps.accounts.models import TokenGrant

    instance, token = AuthToken.objects.create(user, expiry=None)
    if scopes is not None:
        TokenGrant.objects.create(token=instance, scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def ci_a(make_user, team_a):
    """Team A's CI pipeline, through a token."""
    return token_client(make_user("ci-a", role="ci", team=team_a))


@pytest.fixture
def sre_a(make_user, team_a):
    """An SRE of team A, through a token."""
    return token_client(make_user("sre-a", role="sre", team=team_a))


@pytest.fixture
def sre_b(make_user, team_b):
    """An SRE of team B, through a token."""
    return token_client(make_user("sre-b", role="sre", team=team_b))


@pytest.fixture
def viewer_a(make_user, team_a):
    """A read-only member of team A."""
    return token_client(make_user("viewer-a", role="viewer", team=team_a))


@pytest.fixture
def finops(make_user):
    """FinOps staff, through a token."""
    return token_client(make_user("finops", role="finops"))


def field_errors(response) -> dict[str, list[str]]:
    """The fields a 400 problem refuses, each with its messages: {"workload": ["..."]}."""
    fields: dict[str, list[str]] = {}
    for error in response.json()["errors"]:
        fields.setdefault(error["attr"], []).append(error["detail"])
    return fields
