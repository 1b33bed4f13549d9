"""What-if pages: the headline, one unit per quantity, bad uploads in the form, the polled part."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.dashboard.what_if_summary import policy_rows, savings_headline, share_pct
from apps.simulations import services
from apps.simulations.models import WhatIfRun

HTMX = {"HTTP_HX_REQUEST": "true"}


def metrics(cost_usd: float, late: float, **more) -> dict:
    """One policy's `compare_policies` metrics, with the fields the page and figures read."""
    return {
        "cost_usd": cost_usd,
        "compute_cost_usd": cost_usd * 0.9,
        "sla_penalty_usd": cost_usd * 0.1,
        "sla_violation_rate": late,
        "p95_ms": 41.26,
        "p99_ms": 87.31,
        "utilization_efficiency": 0.71234,
        "scaling_actions": 1234,
        "cost_by_option": {"on_demand": cost_usd * 0.9},
        **more,
    }


def minute_rows(count: int, start: str = "2026-10-01T00:00:00Z", value: str = "5") -> bytes:
    first = datetime.fromisoformat(start)
    rows = [
        f"{(first + timedelta(minutes=i)).isoformat().replace('+00:00', 'Z')},{value}"
        for i in range(count)
    ]
    return ("timestamp,value\n" + "\n".join(rows) + "\n").encode()


@pytest.fixture
def sre(sre_a, django_user_model):
    return django_user_model.objects.get(username="sre-a")


def finished_run(user, baseline="threshold") -> WhatIfRun:
    return WhatIfRun.objects.create(
        requested_by=user,
        filename="day.csv",
        content=b"",
        policies=[baseline, "ballast", "oracle"],
        baseline=baseline,
        status="succeeded",
        progress=100,
        result={
            "scenario": {"notes": []},
            "policies": {
                baseline: metrics(100.0, 0.009),
                "ballast": metrics(66.0, 0.0003),
                "oracle": metrics(50.0, 0.0),
            },
        },
    )


def test_the_headline_says_what_ballast_costs_against_the_baseline():
    policies = {"threshold": metrics(100.0, 0.009), "ballast": metrics(66.0, 0.0003)}
    headline = savings_headline(policies, "threshold")
    assert headline is not None and headline.saving_pct == pytest.approx(34.0)
    assert headline.sentence() == (
        "ballast costs $66.00, 34 % less than threshold ($100.00), "
        "with 99.97 % of requests within the SLA against 99.10 %."
    )


@pytest.mark.parametrize(
    ("ballast_usd", "words"),
    [(112.4, "12 % more than hpa"), (100.3, "about as much as hpa")],
)
def test_the_headline_says_when_ballast_costs_more_or_the_same(ballast_usd, words):
    policies = {"hpa": metrics(100.0, 0.0), "ballast": metrics(ballast_usd, 0.0)}
    assert f", {words} ($100.00)" in savings_headline(policies, "hpa").sentence()


def test_a_headline_needs_both_policies_and_a_baseline_that_costs_something():
    assert savings_headline({"ballast": metrics(1.0, 0.0)}, "threshold") is None
    free = {"threshold": metrics(0.0, 0.0), "ballast": metrics(1.0, 0.0)}
    assert "where threshold costs nothing" in savings_headline(free, "threshold").sentence()


@pytest.mark.parametrize(
    ("fraction", "text"),
    [
        (0.99978, "99.98 %"),
        (0.95, "95.00 %"),
        (1.0, "100.00 %"),
        (0.0, "0.00 %"),
        (0.999999, "> 99.99 %"),
        (0.000001, "< 0.01 %"),
    ],
)
def test_shares_are_percents_to_two_decimals_and_never_round_to_perfect(fraction, text):
    assert share_pct(fraction) == text


def test_the_result_page_opens_on_the_headline_with_one_unit_per_quantity(sre, page_as):
    run = finished_run(sre, baseline="hpa")
    page = page_as("sre-a").get(f"/what-if/{run.pk}/").content.decode()
    headline = re.search(r'<p class="headline" id="headline">(.*?)</p>', page).group(1)
    assert headline == (
        "Ballast costs $66.00, 34 % less than hpa ($100.00), "
        "with 99.97 % of requests within the SLA against 99.10 %."
    )
    table = page[page.index('id="policy-table"') : page.index("</table>")]
    assert "<td>99.97 %</td><td>0.03 %</td><td>41.3 ms</td><td>87.3 ms</td>" in table
    assert "<td>71.23 %</td><td>1,234</td>" in table and "<td>1.32 ×</td>" in table
    assert not re.search(r">0\.\d{3,}<", table)  # no bare fraction beside the percents
    assert "hx-trigger" not in page  # a finished run's page does not poll


def test_a_policy_that_ran_no_vm_has_no_utilisation_rather_than_zero():
    served_by_functions = metrics(5.0, 0.0, utilization_efficiency=0.0, serverless_share=1.0)
    assert policy_rows({"ballast": served_by_functions})[0]["utilisation"] == "no VMs"


# Every kind of bad upload, with what the page says about it.
BAD_UPLOADS = [
    ("binary.bin", bytes(range(256)) * 40, "not a readable CSV file"),
    ("header.csv", b"time,requests\n2026-10-01T00:00:00Z,1\n", "header must be 'timestamp,value'"),
    ("nan.csv", minute_rows(90).replace(b"Z,5\n", b"Z,nan\n", 1), "is not a finite number"),
    ("huge.csv", b"timestamp,value\n100000000000000000,5\n100000000000000060,5\n", "ISO-8601"),
    ("ancient.csv", minute_rows(90, start="0001-01-01T00:00:00Z"), "outside the accepted range"),
    ("one-row.csv", minute_rows(1), "needs at least 2 rows"),
    ("short.csv", minute_rows(10), "at least 60 min are needed"),
    ("large.csv", minute_rows(90) + b"#" * services.MAX_UPLOAD_BYTES, "at most 2,097,152"),
]


@pytest.mark.parametrize(
    ("name", "content", "message"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS]
)
def test_a_bad_upload_is_answered_in_the_form_with_the_choices_kept(
    sre, page_as, name, content, message
):
    response = page_as("sre-a").post(
        "/what-if/",
        {
            "workload": "",
            "trace": SimpleUploadedFile(name, content, content_type="application/octet-stream"),
            "policies": ["oracle", "trailing_rate"],
            "baseline": "hpa",
        },
    )
    page = response.content.decode().replace("&#x27;", "'")
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    error = re.search(r'<span class="error" role="alert">trace: (.*?)</span>', page)
    assert error and message in error.group(1) and f"(file {name}: " in error.group(1)
    assert re.search(r'value="oracle"[^>]*checked', page)
    assert re.search(r'value="trailing_rate"[^>]*checked', page)
    assert not re.search(r'value="threshold"[^>]*checked', page)
    assert re.search(r'<option value="hpa" selected>', page)
    assert not WhatIfRun.objects.exists()


def test_a_body_over_the_hard_limit_gets_a_page_and_the_api_a_problem(sre, page_as, settings):
    settings.MAX_TRACE_UPLOAD_BYTES = 1000
    upload = SimpleUploadedFile("big.csv", minute_rows(200))
    response = page_as("sre-a").post("/what-if/", {"trace": upload, "policies": ["threshold"]})
    assert response.status_code == 413 and response["Content-Type"].startswith("text/html")
    assert "the limit is 1000 bytes" in response.content.decode()
    assert 'href="/what-if/"' in response.content.decode()  # back to the form, in the app
    again = SimpleUploadedFile("big.csv", minute_rows(200))
    api = page_as("sre-a").post("/api/v1/trace-imports/", {"file": again})
    assert api.status_code == 413 and api["Content-Type"] == "application/problem+json"
    assert not WhatIfRun.objects.exists()


def test_a_queued_runs_progress_part_is_served_alone_to_htmx_and_keeps_polling(sre, page_as):
    run = services.start_what_if(
        by=sre, upload=SimpleUploadedFile("h.csv", minute_rows(90)), policies=["threshold"]
    )
    client = page_as("sre-a")
    page = client.get(f"/what-if/{run.pk}/").content.decode()
    part = client.get(f"/what-if/{run.pk}/", **HTMX).content.decode()
    assert 'id="run-progress"' in page and "<html" in page
    assert part.lstrip().startswith("<div") and "<html" not in part
    assert f'hx-get="/what-if/{run.pk}/" hx-trigger="every 2s"' in part
    assert "waiting for a worker" in part and run.baseline == "threshold"
    assert run.policies == ["threshold", "ballast"]  # the headline's pair, always replayed


@pytest.mark.parametrize(
    ("percent", "seconds", "left"),
    [(40, 10, "about 15 s left"), (2, 10, "estimating..."), (50, 1, "estimating..."),
     (20, 600, "about 40 min left")],
)  # fmt: skip
def test_a_running_runs_part_says_the_time_left_once_it_can(sre, page_as, percent, seconds, left):
    run = WhatIfRun.objects.create(
        requested_by=sre,
        filename="h.csv",
        policies=["threshold"],
        status="running",
        progress=percent,
        started_at=timezone.now() - timedelta(seconds=seconds),
    )
    part = page_as("sre-a").get(f"/what-if/{run.pk}/", **HTMX).content.decode()
    assert f'<span id="progress-text">{percent} %</span>' in part
    assert f'<span id="time-left">{left}</span>' in part and "hx-trigger" in part


def test_a_finished_run_tells_htmx_to_reload_the_page_once(sre, page_as):
    run = finished_run(sre)
    response = page_as("sre-a").get(f"/what-if/{run.pk}/", **HTMX)
    assert response.status_code == 200 and response["HX-Refresh"] == "true"


def test_another_users_run_progress_part_is_not_found(sre, sre_b, page_as):
    run = finished_run(sre)
    assert page_as("sre-b").get(f"/what-if/{run.pk}/", **HTMX).status_code == 404


def test_started_at_is_what_the_estimate_counts_from(sre):
    """Guard for the estimate: a claimed run has a start."""
    run = services.start_what_if(
        by=sre, upload=SimpleUploadedFile("h.csv", minute_rows(90)), policies=["threshold"]
    )
    from apps.kernel.runs import claim_run

    assert claim_run(WhatIfRun, run.pk)
    run.refresh_from_db()
    assert run.started_at is not None and run.started_at <= datetime.now(UTC)
