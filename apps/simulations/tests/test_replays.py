"""Savings replays and what-if runs: queued once committed, computed by their tasks, refusals."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.plans.models import ScalingPlan
from apps.simulations import services, tasks
from apps.simulations.models import SavingsReplay, WhatIfRun
from apps.workloads.models import Workload
from apps.workloads.world import requests_history


def trace_csv(rows: int = 288, interval_s: int = 300) -> bytes:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    lines = ["timestamp,value"] + [
        f"{(start + timedelta(seconds=i * interval_s)).isoformat()},{100 + (i % 48) * 10}"
        for i in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


ZEROS = b"timestamp,value\n2026-10-01T00:00:00Z,0\n2026-10-01T00:05:00Z,0\n"


def upload(content: bytes = b"", name: str = "day.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content or trace_csv(), content_type="text/csv")


@pytest.fixture
def user(sre_a, django_user_model):
    return django_user_model.objects.get(username="sre-a")


def test_a_savings_replay_is_queued_per_online_workload_and_run_in_its_world(
    online_workload, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        replays = services.queue_savings_replays(workloads=Workload.objects.all(), by=user)
    assert len(replays) == len(queued) == 1
    tasks.replay_savings(replays[0].pk)  # what the worker runs
    tasks.replay_savings(replays[0].pk)  # a redelivery finds it claimed and does nothing
    replay = SavingsReplay.objects.get()
    assert replay.status == "succeeded", replay.message
    assert set(replay.result["policies"]) == {"threshold", "ballast"}
    scenario = replay.result["scenario"]  # the workload's own world, as its controller's
    assert scenario["name"] == "team-a/ranker" and scenario["online_types"] == ["c6i.xlarge"]
    assert replay.history_start < replay.history_end


def test_with_an_applied_plan_the_savings_replay_runs_ballast_inside_its_envelope(proposed):
    from apps.control.envelope import hour_of_day_bounds

    front = proposed.front
    for hour in front[proposed.chosen_index]["envelope"]["hours"]:
        hour.update(max_replicas=1, max_usd_per_hour=None)  # a ceiling that binds
    ScalingPlan.objects.filter(pk=proposed.pk).update(
        status="applied", applied_at=proposed.start_at, front=front
    )
    plan = ScalingPlan.objects.get(pk=proposed.pk)
    bounds = hour_of_day_bounds(plan)
    assert len(bounds) == 24 and {b.max_replicas for b in bounds.values()} == {1}
    workload = plan.workload
    history = requests_history(workload.pk)
    load = services.load_from_series("requests", history)

    enveloped = services.replay_savings(load, workload)
    ScalingPlan.objects.filter(pk=plan.pk).update(status="superseded")
    free = services.replay_savings(load, workload)

    assert f"applied plan {plan.pk}" in enveloped["envelope"] and "envelope" not in free
    assert enveloped["policies"]["threshold"] == free["policies"]["threshold"]
    assert enveloped["policies"]["ballast"] != free["policies"]["ballast"]


def test_a_what_if_on_an_upload_replays_each_policy_to_100_percent(
    user, django_capture_on_commit_callbacks
):
    policies = ["threshold", "ballast", "oracle", "trailing_rate", "threshold"]
    with django_capture_on_commit_callbacks() as queued:
        run = services.start_what_if(by=user, upload=upload(), policies=policies)
    assert len(queued) == 1 and (run.status, run.progress) == ("queued", 0)
    assert run.policies == ["threshold", "ballast", "oracle", "trailing_rate"]  # once each
    tasks.run_what_if(run.pk)
    run.refresh_from_db()
    assert (run.status, run.progress) == ("succeeded", 100), run.message
    assert set(run.result["policies"]) == {"threshold", "ballast", "oracle", "trailing_rate"}
    assert run.source == "uploaded trace day.csv"


def test_a_what_if_on_a_workloads_history_replays_its_stored_requests(online_workload, user):
    run = services.start_what_if(by=user, workload=online_workload, policies=["threshold"])
    tasks.run_what_if(run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.message
    assert run.result["scenario"]["name"] == "team-a/ranker"
    assert run.source == "team-a/ranker (stored requests)"


def test_a_what_if_upload_missing_a_few_rows_runs_and_says_so(user):
    rows = trace_csv().decode().splitlines()
    gappy = "\n".join(rows[:100] + rows[102:]) + "\n"  # two 5-minute rows missing
    run = services.start_what_if(
        by=user, upload=upload(gappy.encode(), "gappy.csv"), policies=["threshold"]
    )
    tasks.run_what_if(run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.message
    notes = run.result["scenario"]["notes"]
    assert any(note.startswith("2 missing intervals of the trace were filled") for note in notes)


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"policies": ["threshold"]}, "source", "choose a workload or upload a trace"),
        ({"policies": []}, "policies", "choose at least one policy"),
        ({"policies": ["threshold", "nope"]}, "policies", "unknown policy 'nope'"),
        (
            {"policies": ["threshold"], "upload": b"time,value\n1,2\n"},
            "trace",
            "header must be",
        ),
        (
            {"policies": ["threshold"], "upload": ZEROS},
            "trace",
            "needs at least one minute of traffic above zero",
        ),
    ],
)
def test_bad_what_if_input_names_the_field_and_writes_nothing(user, kwargs, field, message):
    if "upload" in kwargs:
        kwargs = {**kwargs, "upload": upload(kwargs["upload"], "t.csv")}
    with pytest.raises(services.SimulationError) as refused:
        services.start_what_if(by=user, **kwargs)
    assert refused.value.field == field and message in refused.value.message
    assert not WhatIfRun.objects.exists()


def test_an_oversized_trace_is_refused(user, monkeypatch):
    monkeypatch.setattr(services, "MAX_UPLOAD_BYTES", 100)
    with pytest.raises(services.SimulationError, match="trace: the file is"):
        services.start_what_if(by=user, upload=upload(), policies=["threshold"])
    assert not WhatIfRun.objects.exists()


def test_a_what_if_on_a_workload_without_traffic_is_refused(team_a, user):
    workload = Workload.objects.create(team=team_a, name="quiet", kind="online")
    with pytest.raises(services.SimulationError, match="source: quiet has no usable"):
        services.start_what_if(by=user, workload=workload, policies=["threshold"])


def test_a_user_sees_their_own_runs_and_those_on_workloads_they_read(
    online_workload, sre_a, sre_b, django_user_model
):
    a, b = (django_user_model.objects.get(username=name) for name in ("sre-a", "sre-b"))
    upload_run = services.start_what_if(by=a, upload=upload(), policies=["threshold"])
    workload_run = services.start_what_if(by=a, workload=online_workload, policies=["threshold"])
    assert set(WhatIfRun.objects.visible_to(a)) == {upload_run, workload_run}
    assert not WhatIfRun.objects.visible_to(b).exists()
