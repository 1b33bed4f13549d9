"""The demo's live traffic: a sample trace moved to end now, then continued minute by minute."""

from datetime import UTC, datetime, timedelta

from apps.control import demo, services
from apps.workloads import services as workload_services
from apps.workloads.models import MetricObservation
from forecasting.trace import read_trace

NOW = datetime(2026, 12, 6, 20, 30, 42, tzinfo=UTC)
TRACE = b"timestamp,value\n" + b"".join(
    f"1995-07-01T00:{m:02d}:00Z,{10 * (m + 1)}\n".encode() for m in range(50)
)


def test_a_trace_moved_to_now_ends_with_the_last_whole_interval_and_keeps_its_values():
    moved = read_trace(demo.shifted_to_now(TRACE, NOW))
    original = read_trace(TRACE)
    last = moved.timestamps[-1].astype("datetime64[s]").astype(int)
    assert last == int(datetime(2026, 12, 6, 20, 29, tzinfo=UTC).timestamp())
    assert list(moved.values) == list(original.values) and moved.interval_s == 60


def test_the_feed_continues_the_trace_from_the_newest_point_and_stores_each_minute_once(
    online_workload, sre_user
):
    MetricObservation.objects.filter(workload=online_workload).delete()
    run = workload_services.queue_trace_import(
        workload=online_workload,
        series="requests",
        filename="t.csv",
        content=demo.shifted_to_now(TRACE, NOW),
        by=sre_user,
    )
    workload_services.execute_trace_import(run.pk)
    services.enable_controller(workload=online_workload)
    points = MetricObservation.objects.filter(workload=online_workload, series="requests")
    assert points.count() == 50

    later = NOW + timedelta(minutes=3)
    assert demo.feed_demo_metrics(later) == 3
    assert demo.feed_demo_metrics(later) == 0
    newest = list(points.order_by("-ts").values_list("value", flat=True)[:3])
    assert newest == [30.0, 20.0, 10.0]  # the loop starts over after the trace's last row
