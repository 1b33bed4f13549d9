"""Deleting a range of a workload's observations: SREs or scoped CI, audited, team-scoped."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.accounts.roles import DELETE_OBSERVATIONS
from apps.plans.models import AuditEvent
from apps.workloads.models import MetricObservation
from apps.workloads.tests.factories import WorkloadFactory
from conftest import field_errors, token_client

START = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def workload_a(team_a):
    workload = WorkloadFactory(team=team_a, name="ranker")
    MetricObservation.objects.bulk_create(
        MetricObservation(
            workload=workload, series="requests", ts=START + timedelta(minutes=i), value=i
        )
        for i in range(10)
    )
    return workload


def delete(client, workload):
    body = {"series": "requests", "from": "2026-11-01T00:02:00Z", "to": "2026-11-01T00:05:00Z"}
    return client.post(f"/api/v1/workloads/{workload.pk}/observations/delete/", body, format="json")


def test_an_sre_deletes_a_range_and_the_trail_records_it(sre_a, workload_a):
    response = sre_a.post(
        f"/api/v1/workloads/{workload_a.pk}/observations/delete/",
        {
            "series": "requests",
            "from": "2026-11-01T00:02:00Z",
            "to": "2026-11-01T00:05:00Z",
            "comment": "test points",
        },
        format="json",
    )

    assert response.status_code == 200, response.data
    assert response.data["deleted"] == 3
    assert MetricObservation.objects.count() == 7
    assert not MetricObservation.objects.filter(
        ts__gte=START + timedelta(minutes=2), ts__lt=START + timedelta(minutes=5)
    ).exists()
    event = AuditEvent.objects.get(pk=response.data["audit_event_id"])
    assert (event.action, event.actor, event.via, event.plan_id) == (
        "observations.deleted",
        "sre-a",
        "token",
        None,
    )
    assert (event.workload_id, event.team_id) == (workload_a.pk, workload_a.team_id)
    assert event.detail["deleted"] == 3 and event.comment == "test points"


def test_ci_needs_the_scope(make_user, team_a, workload_a):
    ci = make_user("ci-a", role="ci", team=team_a)
    plain = delete(token_client(ci), workload_a)
    assert plain.status_code == 403 and DELETE_OBSERVATIONS in str(plain.data)
    assert MetricObservation.objects.count() == 10
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["refused"]

    scoped = delete(token_client(ci, scopes=[DELETE_OBSERVATIONS]), workload_a)
    assert scoped.status_code == 200 and scoped.data["deleted"] == 3


def test_a_viewer_may_not_and_another_team_sees_nothing(viewer_a, sre_b, workload_a):
    assert delete(viewer_a, workload_a).status_code == 403
    assert delete(sre_b, workload_a).status_code == 404
    assert MetricObservation.objects.count() == 10
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["refused"]  # the 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": "2026-11-01T00:01:00Z"}, "to"),
        ({"from": "0001-01-01T00:00:00+05:00"}, "from"),
        ({"to": "9999-12-31T23:59:00-05:00"}, "to"),
        ({"series": "bad name!"}, "series"),
        ({"until": "2026-11-01T00:01:00Z"}, "until"),
    ],
)
def test_a_bad_range_is_refused_naming_the_field(sre_a, workload_a, body, field):
    full = {"series": "requests", "from": "2026-11-01T00:02:00Z", "to": "2026-11-01T00:05:00Z"}
    response = sre_a.post(
        f"/api/v1/workloads/{workload_a.pk}/observations/delete/", full | body, format="json"
    )
    assert response.status_code == 400 and field in field_errors(response)
    assert MetricObservation.objects.count() == 10


def test_a_pathological_workload_id_answers_404(sre_a):
    response = sre_a.post("/api/v1/workloads/abc/observations/delete/", {}, format="json")
    assert response.status_code == 404
