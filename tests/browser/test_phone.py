"""On a 390 px phone every page fits the screen's width and Sign out stays in reach."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

PHONE = {"width": 390, "height": 844}
# Every element whose right edge passes the screen's, widest first, named as a reader finds it.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.classList.length ? "." + [...el.classList].join(".") : "");
  const over = [...document.querySelectorAll("body *")]
    .map((el) => ({el, right: el.getBoundingClientRect().right}))
    .filter(({right}) => right > width + 0.5)
    .sort((a, b) => b.right - a.right);
  return {
    scrollWidth: document.documentElement.scrollWidth,
    widest: over.slice(0, 3).map(({el, right}) =>
      `${name(el)} (right edge ${Math.round(right)} px, in ${name(el.parentElement)})`),
  };
}"""


def trace_csv(rows: int = 288, interval_s: int = 300) -> bytes:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    lines = ["timestamp,value"] + [
        f"{(start + timedelta(seconds=i * interval_s)).isoformat()},{100 + (i % 48) * 10}"
        for i in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def what_if_run(sre_user, django_capture_on_commit_callbacks):
    """A finished what-if run of a day's trace, as the worker leaves it."""
    from apps.simulations import services

    upload = SimpleUploadedFile("day.csv", trace_csv(), content_type="text/csv")
    with django_capture_on_commit_callbacks():
        run = services.start_what_if(by=sre_user, upload=upload, policies=["oracle"])
    services.execute_what_if(run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.message
    return run


def fit(page, name: str) -> str | None:
    """Why `page` does not fit a phone's width, naming the widest elements; None when it fits."""
    for figure in page.locator(".figure").all():
        expect(figure.locator("svg.main-svg").first).to_be_attached(timeout=15_000)
    found = page.evaluate(OVERFLOW)
    if found["scrollWidth"] <= PHONE["width"]:
        return None
    return f"{name} is {found['scrollWidth']} px wide; widest: {'; '.join(found['widest'])}"


def test_every_page_fits_a_phone_and_sign_out_is_in_reach(
    proposed, what_if_run, chromium, signed_in, live_server, artifacts
):
    workload, url = proposed.workload_id, live_server.url
    pages = {
        "home": "/",
        "overview": "/overview/",
        "workload": f"/workloads/{workload}/",
        "workload plans": f"/workloads/{workload}/plans/",
        "plan": f"/plans/{proposed.pk}/",
        "what-if form": "/what-if/",
        "what-if run": f"/what-if/{what_if_run.pk}/",
        "catalog": "/catalog/",
        "delete observations": f"/workloads/{workload}/observations/delete/"
        "?series=requests&from=2026-10-31T00:00:00&to=2026-10-31T01:00:00",
    }
    context = chromium.new_context(viewport=PHONE)
    stranger = context.new_page()
    stranger.goto(f"{url}/accounts/login/")
    misfits = [fit(stranger, "login")]
    context.close()

    page = signed_in("sre-a")
    page.set_viewport_size(PHONE)
    sign_out = page.get_by_role("button", name="Sign out")
    for name, path in pages.items():
        page.goto(url + path)
        misfits.append(fit(page, name))
        expect(sign_out).to_be_in_viewport()
        sign_out.click(trial=True)  # visible, enabled, not covered: a tap would reach it
    page.screenshot(path=artifacts / "phone-last-page.png", full_page=True)
    assert not [m for m in misfits if m], "\n".join(m for m in misfits if m)

    sign_out.click()
    page.wait_for_url("**/accounts/login/**")
