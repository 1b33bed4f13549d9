"""Two workers step one workload at the same instant: one decides, the other stands aside."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from apps.control import services
from apps.control.models import ControlDecision
from apps.workloads.models import CapacityProfile, MetricObservation

START = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_decide_each_step_once(online_workload):
    MetricObservation.objects.filter(workload=online_workload).delete()
    CapacityProfile.objects.filter(variant__workload=online_workload).update(
        max_rps=200, service_time_ms=10
    )
    services.enable_controller(workload=online_workload)
    for minute in range(5):
        MetricObservation.objects.create(
            workload=online_workload,
            series="requests",
            ts=START + timedelta(minutes=minute),
            value=30000.0 + 1000 * minute,
        )
    now = START + timedelta(minutes=5, seconds=3)
    barrier = threading.Barrier(4)
    reports = []

    def step():
        try:
            barrier.wait()
            reports.append(services.run_step(online_workload.pk, now=now))
        except services.StepConflict as exc:
            reports.append(exc)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=step) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    decided = [r for r in reports if not isinstance(r, Exception) and r.decided]
    assert len(decided) == 1, reports
    rows = ControlDecision.objects.filter(workload=online_workload)
    assert sorted(rows.values_list("step", flat=True)) == list(range(6))
    assert rows.filter(applied=True).count() == 1
