"""Changes made in the admin are on the audit trail; targets are not edited there at all."""

import pytest

from apps.actuation.models import TeamCredentials
from apps.plans.models import AuditEvent


@pytest.fixture
def operator(client, django_user_model):
    """A superuser signed in to the admin."""
    user = django_user_model.objects.create_superuser("operator", password="x-operator")
    client.force_login(user)
    return client


def team_form(team, **changes):
    """The team's admin form as posted, with an empty memberships inline."""
    data = {
        "slug": team.slug,
        "name": team.name,
        "prometheus_token_envs": "[]",
        "target_references": '["*"]',
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    return data | changes


def test_granting_an_identity_in_the_admin_is_audited(operator, team_a):
    response = operator.post(
        "/admin/actuation/teamcredentials/add/",
        {"team": team_a.pk, "aws_role_arn": "arn:aws:iam::123456789012:role/ballast-team-a"},
    )
    assert response.status_code == 302, response.content[:2000]
    assert TeamCredentials.objects.filter(team=team_a).exists()
    event = AuditEvent.objects.get(action="admin.teamcredentials.created")
    assert event.actor == "operator" and event.via == "admin" and event.team_id == team_a.pk
    assert event.detail["before"] is None
    assert event.detail["after"]["aws_role_arn"].endswith("role/ballast-team-a")


def test_a_team_and_its_members_changed_in_the_admin_are_audited(
    operator, team_a, django_user_model
):
    member = django_user_model.objects.create_user("new-sre")
    data = team_form(team_a, target_references='["inference/*"]')
    data |= {
        "memberships-TOTAL_FORMS": "1",
        "memberships-0-user": member.pk,
        "memberships-0-role": "sre",
    }
    response = operator.post(f"/admin/accounts/team/{team_a.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    changed = AuditEvent.objects.get(action="admin.team.changed")
    assert changed.detail["before"]["target_references"] == ["*"]
    assert changed.detail["after"]["target_references"] == ["inference/*"]
    joined = AuditEvent.objects.get(action="admin.teammembership.created")
    assert joined.team_id == team_a.pk and joined.detail["after"]["role"] == "sre"


def test_a_workload_removed_in_the_admin_is_audited(operator, online_workload):
    pk = online_workload.pk
    response = operator.post(f"/admin/workloads/workload/{pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    removed = AuditEvent.objects.get(action="admin.workload.removed")
    assert removed.workload_id == pk and removed.detail["before"]["name"] == "ranker"
    assert removed.detail["after"] is None


def test_deployment_targets_are_read_only_in_the_admin(operator, online_workload):
    page = operator.get(f"/admin/workloads/workload/{online_workload.pk}/change/")
    assert page.status_code == 200
    assert b"prod/ranker" in page.content  # shown
    assert b'name="targets-0-reference"' not in page.content  # not editable
