"""A what-if's progress as the worker writes it: rising, once a second at most, 100 at the end."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.simulations import services, tasks
from apps.simulations.models import WhatIfRun


def minute_csv(minutes: int) -> bytes:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    rows = [f"{(start + timedelta(minutes=i)).isoformat()},{50 + i % 30}" for i in range(minutes)]
    return ("timestamp,value\n" + "\n".join(rows) + "\n").encode()


@pytest.fixture
def running(sre_a, django_user_model):
    user = django_user_model.objects.get(username="sre-a")
    return WhatIfRun.objects.create(
        requested_by=user, filename="h.csv", policies=["threshold"], status="running"
    )


def test_progress_is_written_when_it_grew_and_a_second_has_passed(running):
    now = [0.0]
    write = services.ProgressWriter(running.pk, every_s=1.0, clock=lambda: now[0])
    written = []
    for at, fraction in [(0.0, 0.10), (0.5, 0.20), (1.2, 0.30), (2.5, 0.25), (3.0, 1.0)]:
        now[0] = at
        write(fraction)
        written.append(WhatIfRun.objects.get(pk=running.pk).progress)
    assert written == [10, 10, 30, 30, 99]  # never 100 before the result is stored


def test_a_finished_run_keeps_its_100_when_a_late_report_arrives(running):
    WhatIfRun.objects.filter(pk=running.pk).update(status="succeeded", progress=100)
    services.ProgressWriter(running.pk, every_s=0.0)(0.5)
    assert WhatIfRun.objects.get(pk=running.pk).progress == 100


def test_a_what_if_reports_progress_inside_each_replay(sre_a, django_user_model, monkeypatch):
    user = django_user_model.objects.get(username="sre-a")
    upload = SimpleUploadedFile("h.csv", minute_csv(600))  # 10 h: 3 reports per replay
    run = services.start_what_if(by=user, upload=upload, policies=["threshold"])
    reported: list[float] = []
    write = services.ProgressWriter.__call__

    def spy(self, fraction):
        reported.append(fraction)
        write(self, fraction)

    monkeypatch.setattr(services.ProgressWriter, "__call__", spy)
    tasks.run_what_if(run.pk)
    run.refresh_from_db()
    assert (run.status, run.progress) == ("succeeded", 100), run.message
    assert run.policies == ["threshold", "ballast"] and reported == sorted(reported)
    inside_ballast = [f for f in reported if reported[0] < f < 1 and f > reported[3]]
    assert len(reported) == 8 and len(inside_ballast) == 2, reported
