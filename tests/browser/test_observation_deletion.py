"""On a 390 px phone: an SRE deletes an hour of observations from the workload page."""

from playwright.sync_api import expect

from apps.plans.models import AuditEvent
from apps.workloads.models import MetricObservation

PHONE = {"width": 390, "height": 844}


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_an_sre_previews_and_deletes_a_range_on_a_phone(
    online_workload, sre_user, signed_in, live_server, artifacts
):
    before = MetricObservation.objects.count()
    page = signed_in("sre-a")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/workloads/{online_workload.pk}/")
    form = page.locator("#delete-observations")
    form.scroll_into_view_if_needed()
    box = form.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.fill("#delete-observations input[name=from]", "2026-10-31T00:00:00")
    page.fill("#delete-observations input[name=to]", "2026-10-31T01:00:00")
    form.screenshot(path=artifacts / "phone-delete-form.png")
    page.click("#delete-observations button[type=submit]")

    expect(page.locator("#deletion-preview")).to_contain_text("60 points")
    assert fits_the_width(page)
    assert MetricObservation.objects.count() == before
    page.screenshot(path=artifacts / "phone-delete-preview.png", full_page=True)
    page.fill("textarea[name=comment]", "load test points")
    page.get_by_role("button", name="Delete 60 points").click()

    expect(page.get_by_role("status")).to_contain_text("Deleted 60 points of requests")
    page.screenshot(path=artifacts / "phone-delete-done.png", full_page=True)
    assert MetricObservation.objects.count() == before - 60
    assert AuditEvent.objects.get(action="observations.deleted").comment == "load test points"
