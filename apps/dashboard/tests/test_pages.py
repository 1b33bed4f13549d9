"""The dashboard pages: signed in only, scoped to visible teams, CSRF-protected, clear refusals."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.plans import spend
from apps.plans.models import ScalingPlan
from apps.simulations import tasks
from apps.simulations.models import SavingsReplay, WhatIfRun
from apps.workloads.models import SLA, Workload

PAGES = ["/overview/", "/what-if/", "/catalog/", "/workloads/1/", "/what-if/1/progress/"]


def trace_csv(rows: int = 288, interval_s: int = 300) -> bytes:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    lines = ["timestamp,value"] + [
        f"{(start + timedelta(seconds=i * interval_s)).isoformat()},{100 + (i % 48) * 10}"
        for i in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("url", PAGES)
def test_every_page_asks_for_a_login(db, url):
    response = Client().get(url)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_the_overview_shows_only_the_teams_the_user_reads(
    online_workload, team_b, sre_a, finops, page_as
):
    Workload.objects.create(team=team_b, name="other-teams-model", kind="online")
    sre_page = page_as("sre-a").get("/overview/").content.decode()
    finops_page = page_as("finops").get("/overview/").content.decode()
    assert "team-a/ranker" in sre_page and "other-teams-model" not in sre_page
    assert "team-a/ranker" in finops_page and "team-b/other-teams-model" in finops_page
    assert "estimated from plans" in sre_page


def test_spend_is_the_applied_plans_cost_per_day_over_the_time_they_were_in_force(proposed):
    day = datetime(2026, 11, 2, tzinfo=UTC)
    ScalingPlan.objects.filter(pk=proposed.pk).update(
        status="applied", applied_at=day + timedelta(hours=12)
    )
    plan = ScalingPlan.objects.select_related("workload__team").get(pk=proposed.pk)
    periods = spend.in_force_periods([plan], now=day + timedelta(days=2))
    daily = spend.daily_spend(periods, [day, day + timedelta(days=1), day + timedelta(days=2)])
    per_day = plan.expected_cost_per_day_usd
    assert daily["team"]["team-a"] == pytest.approx([per_day / 2, per_day, 0.0])
    assert sum(sum(v) for v in daily["purchase_option"].values()) == pytest.approx(1.5 * per_day)


def test_a_savings_replay_is_computed_by_the_task_and_shown(
    online_workload, sre_a, page_as, django_capture_on_commit_callbacks
):
    client = page_as("sre-a")
    with django_capture_on_commit_callbacks() as queued:
        assert client.post("/overview/savings/").status_code == 302
    replay = SavingsReplay.objects.get()
    assert len(queued) == 1
    tasks.replay_savings(replay.pk)  # what the worker runs
    replay.refresh_from_db()
    assert replay.status == "succeeded", replay.message
    assert set(replay.result["policies"]) == {"threshold", "ballast"}
    scenario = replay.result["scenario"]  # the workload's own world, as its controller's
    assert scenario["name"] == "team-a/ranker" and scenario["online_types"] == ["c6i.xlarge"]
    page = client.get("/overview/").content.decode()
    assert "not replayed yet" not in page and 'id="savings"' in page
    assert "the policy code its live controller runs" in page


def test_the_workload_page_draws_traffic_forecast_and_planned_latency(proposed, sre_a, page_as):
    SLA.objects.filter(workload_id=proposed.workload_id).update(peak_rps=400, min_accuracy=0.9)
    response = page_as("sre-a").get(f"/workloads/{proposed.workload_id}/")
    page = response.content.decode()
    assert response.status_code == 200
    sla = "SLA: p99 under 100 ms up to 400 requests/s, on no model less accurate than 0.900."
    assert sla in page
    assert 'id="traffic"' in page and 'id="latency"' in page
    assert "forecast p99" in page and f"plan {proposed.pk}" in page
    assert f'href="/plans/{proposed.pk}/"' in page


def test_the_plan_page_shows_the_envelope_an_approval_approves(proposed, sre_a, page_as):
    page = page_as("sre-a").get(f"/plans/{proposed.pk}/").content.decode()
    first = proposed.front[proposed.chosen_index]["envelope"]["hours"][0]
    assert "<h2>Envelope</h2>" in page and "Spend ceiling ($/h)" in page
    assert f"<td>{first['max_usd_per_hour']:.3f}</td>" in page


def test_another_teams_workload_page_is_not_found(online_workload, sre_b, page_as):
    assert page_as("sre-b").get(f"/workloads/{online_workload.pk}/").status_code == 404


def test_a_what_if_upload_runs_with_progress_and_compares_the_policies(
    sre_a, page_as, django_capture_on_commit_callbacks
):
    client = page_as("sre-a")
    upload = SimpleUploadedFile("day.csv", trace_csv(), content_type="text/csv")
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(
            "/what-if/",
            {"trace": upload, "policies": ["threshold", "ballast", "oracle", "trailing_rate"]},
        )
    run = WhatIfRun.objects.get()
    assert len(queued) == 1 and client.get(f"/what-if/{run.pk}/progress/").json() == {
        "status": "queued",
        "progress": 0,
        "message": "",
    }
    assert "<progress" in client.get(f"/what-if/{run.pk}/").content.decode()
    tasks.run_what_if(run.pk)
    run.refresh_from_db()
    assert response.status_code == 302 and response.url == f"/what-if/{run.pk}/"
    assert (run.status, run.progress) == ("succeeded", 100), run.message
    assert client.get(f"/what-if/{run.pk}/progress/").json()["progress"] == 100
    policies = run.result["policies"]
    assert set(policies) == {"threshold", "ballast", "oracle", "trailing_rate"}
    page = client.get(f"/what-if/{run.pk}/").content.decode()
    assert 'id="policy-table"' in page and 'id="policy-cost"' in page
    assert "<td>trailing_rate</td>" in page and "Compute / oracle</th>" in page
    bills = {name: m["compute_cost_usd"] for name, m in policies.items()}
    assert f"<td>oracle</td><td>${policies['oracle']['cost_usd']:.2f}</td>" in page
    assert f"<td>{bills['threshold'] / bills['oracle']:.2f} ×</td>" in page


def test_the_what_if_form_offers_the_references_beside_the_policies(sre_a, page_as):
    page = page_as("sre-a").get("/what-if/").content.decode()
    assert 'value="ballast"' in page and 'value="oracle"' in page
    assert "rate_oracle (reference)" in page and "trailing_rate (reference)" in page


def test_a_what_if_upload_missing_a_few_rows_runs_and_says_so(sre_a, page_as):
    rows = trace_csv().decode().splitlines()
    gappy = "\n".join(rows[:100] + rows[102:]) + "\n"  # two 5-minute rows missing
    upload = SimpleUploadedFile("gappy.csv", gappy.encode(), content_type="text/csv")
    page_as("sre-a").post("/what-if/", {"trace": upload, "policies": ["threshold"]})
    run = WhatIfRun.objects.get()
    tasks.run_what_if(run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.message
    notes = run.result["scenario"]["notes"]
    assert any(note.startswith("2 missing intervals of the trace were filled") for note in notes)
    page = page_as("sre-a").get(f"/what-if/{run.pk}/").content.decode()
    assert 'id="run-notes"' in page and "2 missing intervals of the trace were filled" in page
    assert "Compute / oracle" not in page  # no oracle among the run's policies


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"policies": ["threshold"]}, "choose a workload or upload a trace"),
        ({"trace": b"time,value\n1,2\n", "policies": ["threshold"]}, "trace: header must be"),
        ({"trace": trace_csv()}, "policies: This field is required"),
        ({"trace": trace_csv(), "policies": ["nope"]}, "policies: Select a valid choice"),
    ],
)
def test_bad_what_if_input_names_the_field_and_writes_nothing(sre_a, page_as, data, message):
    if "trace" in data:
        data = {**data, "trace": SimpleUploadedFile("t.csv", data["trace"])}
    response = page_as("sre-a").post("/what-if/", data)
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not WhatIfRun.objects.exists()


def test_what_if_forms_need_the_csrf_token(sre_a, page_as):
    response = page_as("sre-a", csrf=True).post("/what-if/", {"policies": ["threshold"]})
    assert response.status_code == 403


def test_another_users_run_on_an_upload_stays_private(sre_a, sre_b, page_as, django_user_model):
    run = WhatIfRun.objects.create(
        requested_by=django_user_model.objects.get(username="sre-a"),
        filename="t.csv",
        content=trace_csv(),
        policies=["threshold"],
    )
    assert page_as("sre-b").get(f"/what-if/{run.pk}/progress/").status_code == 404
    assert page_as("sre-a").get(f"/what-if/{run.pk}/progress/").json()["status"] == "queued"


def test_the_catalog_draws_price_history_and_interruption_bands(catalog, finops, page_as):
    page = page_as("finops").get("/catalog/?purchase_option=spot").content.decode()
    assert 'id="prices"' in page and 'id="interruption"' in page
    assert "c6i.xlarge spot" in page


def test_the_workload_page_shows_the_live_controllers_decisions_and_polls_them(
    online_workload, sre_a, sre_b, page_as
):
    from apps.control import services as control
    from apps.control.rebuild import forget_worlds
    from apps.workloads.models import CapacityProfile, MetricObservation

    CapacityProfile.objects.filter(variant__workload=online_workload).update(
        max_rps=200, service_time_ms=10
    )
    forget_worlds()
    control.enable_controller(workload=online_workload)
    newest = MetricObservation.objects.filter(workload=online_workload).latest("ts").ts
    control.run_step(online_workload.pk, now=newest + timedelta(minutes=1, seconds=5))

    page = page_as("sre-a").get(f"/workloads/{online_workload.pk}/").content.decode()
    polled = page_as("sre-a").get(f"/workloads/{online_workload.pk}/control/").json()

    assert 'id="control-figure"' in page and "Policy <strong>ballast_controller</strong>" in page
    assert polled["controller"]["policy"] == "ballast_controller" and polled["rows"]
    assert polled["figure"]["layout"]["yaxis"]["title"]["text"] == "replicas"
    other = page_as("sre-b").get(f"/workloads/{online_workload.pk}/control/")
    assert other.status_code == 404
