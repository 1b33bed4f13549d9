"""In a browser: a what-if's progress updates in place, then the headline; a binary upload."""

import threading
import time
from datetime import UTC, datetime, timedelta

from django.db import connection
from playwright.sync_api import expect

from apps.simulations import services, tasks
from apps.simulations.models import WhatIfRun

# Live progress text: a percent strictly between 0 and 100, on the page loaded before the run.
MID_RUN = """() => window.samePage === true && /^([1-9]|[1-9][0-9]) %$/.test(
    (document.querySelector('#progress-text') || {}).textContent || '')"""


def day_csv() -> bytes:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    rows = [
        f"{(start + timedelta(minutes=5 * i)).isoformat()},{300 + (i % 288 - 144) ** 2 // 80}"
        for i in range(288)
    ]
    return ("timestamp,value\n" + "\n".join(rows) + "\n").encode()


def run_in_process(run_id: int) -> threading.Thread:
    """What a worker would do, in a thread of the test process (no Celery worker runs here)."""

    def work():
        try:
            tasks.run_what_if(run_id)
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_a_what_ifs_progress_updates_without_reload_and_ends_on_the_headline(
    sre_a, signed_in, live_server, artifacts, monkeypatch
):
    """The page polls while the run goes, then reloads once onto the headline and figures.

    No Celery worker runs in browser tests: the run is executed in-process, by a thread calling
    the task's function as a worker would, and each progress report is held 0.15 s so that a
    2 s poll meets the run mid-way.
    """
    report = services.ProgressWriter.__call__

    def slowed(self, fraction):
        report(self, fraction)
        time.sleep(0.15)

    monkeypatch.setattr(services.ProgressWriter, "__call__", slowed)
    monkeypatch.setattr(services, "PROGRESS_EVERY_S", 0.0)
    page = signed_in("sre-a")
    page.goto(f"{live_server.url}/what-if/")
    page.set_input_files(
        "input[name=trace]", {"name": "day.csv", "mimeType": "text/csv", "buffer": day_csv()}
    )
    page.select_option("select[name=baseline]", "threshold")
    page.click("form.whatif button[type=submit]")
    expect(page.locator("#run-status")).to_have_text("queued")
    expect(page.locator("#time-left")).to_have_text("waiting for a worker")
    page.evaluate("window.samePage = true")

    worker = run_in_process(WhatIfRun.objects.get().pk)
    page.wait_for_function(MID_RUN, timeout=20_000)
    expect(page.locator("#run-status")).to_have_text("running")
    page.screenshot(path=artifacts / "what-if-running.png", full_page=True)
    worker.join(timeout=60)

    headline = page.locator("#headline")
    expect(headline).to_contain_text("Ballast costs $", timeout=15_000)
    expect(headline).to_contain_text("than threshold")
    expect(headline).to_contain_text("of requests within the SLA against")
    assert page.evaluate("window.samePage") is None  # reloaded once, to draw the result
    expect(page.locator("#policy-cost.figure .plotly svg.main-svg").first).to_be_visible()
    page.screenshot(path=artifacts / "what-if-headline.png", full_page=True)


def test_a_binary_upload_is_answered_in_the_form_on_a_phone(sre_a, signed_in, live_server):
    page = signed_in("sre-a")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/what-if/")
    binary = {"name": "model.bin", "mimeType": "application/octet-stream"}
    page.set_input_files("input[name=trace]", {**binary, "buffer": bytes(range(256)) * 64})
    page.check("input[name=policies][value=oracle]")
    page.select_option("select[name=baseline]", "hpa")
    page.click("form.whatif button[type=submit]")

    error = page.locator("span.error[role=alert]")
    expect(error).to_contain_text("trace: not a readable CSV file")
    expect(error).to_contain_text("model.bin")
    assert page.url == f"{live_server.url}/what-if/"
    expect(page.locator("header a.brand")).to_be_visible()  # inside the app, not raw JSON
    expect(page.locator("input[name=policies][value=oracle]")).to_be_checked()
    expect(page.locator("select[name=baseline]")).to_have_value("hpa")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert not WhatIfRun.objects.exists()
