"""Deleting a range of observations from the workload page: its SREs only, previewed, audited."""

from apps.plans.models import AuditEvent
from apps.workloads.models import MetricObservation

HOUR = {"series": "requests", "from": "2026-10-31T00:00", "to": "2026-10-31T01:00"}


def url(workload) -> str:
    return f"/workloads/{workload.pk}/observations/delete/"


def test_an_sre_previews_the_count_then_deletes_and_sees_a_message(online_workload, sre_a, page_as):
    page = page_as("sre-a", csrf=False)
    before = MetricObservation.objects.count()
    assert (
        'id="delete-observations"' in page.get(f"/workloads/{online_workload.pk}/").content.decode()
    )

    preview = page.get(url(online_workload), HOUR)

    assert preview.status_code == 200
    assert "<strong>60 points</strong>" in preview.content.decode()
    assert MetricObservation.objects.count() == before  # a preview deletes nothing
    done = page.post(url(online_workload), HOUR | {"comment": "stray load test"}, follow=True)
    assert done.redirect_chain[-1][0] == f"/workloads/{online_workload.pk}/"
    assert "Deleted 60 points of requests from 2026-10-31 00:00 to 2026-10-31 01:00 UTC" in (
        done.content.decode()
    )
    assert MetricObservation.objects.count() == before - 60
    event = AuditEvent.objects.get(action="observations.deleted")
    assert (event.actor, event.via, event.comment) == ("sre-a", "page", "stray load test")


def test_a_viewer_gets_no_form_and_a_refusal_that_is_audited(online_workload, viewer_a, page_as):
    page = page_as("viewer-a")
    assert (
        "delete-observations" not in page.get(f"/workloads/{online_workload.pk}/").content.decode()
    )
    before = MetricObservation.objects.count()

    refused = page.post(url(online_workload), HOUR)

    assert refused.status_code == 403 and "needs the sre role" in refused.content.decode()
    assert MetricObservation.objects.count() == before
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["refused"]


def test_a_bad_or_empty_range_is_explained_and_offers_no_button(online_workload, sre_a, page_as):
    page = page_as("sre-a")
    backwards = page.get(url(online_workload), HOUR | {"to": "2026-10-30T00:00"})
    assert backwards.status_code == 400 and "to: must be after from" in backwards.content.decode()
    empty = page.get(
        url(online_workload), HOUR | {"from": "2030-01-01T00:00", "to": "2030-01-02T00:00"}
    )
    assert empty.status_code == 200 and "nothing to delete" in empty.content.decode()
    assert "<button" not in empty.content.decode().split("<main>")[1]


def test_another_teams_workload_is_not_found(online_workload, sre_b, page_as):
    assert page_as("sre-b").post(url(online_workload), HOUR).status_code == 404
