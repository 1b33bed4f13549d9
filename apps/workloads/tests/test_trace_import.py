from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from apps.workloads import services
from apps.workloads.models import MetricObservation, TraceImport
from apps.workloads.tests.factories import WorkloadFactory
from conftest import field_errors

TRACES = Path(__file__).resolve().parents[3] / "data" / "traces"
CSV = b"timestamp,value\n2026-01-01T00:00:00Z,5\n2026-01-01T00:01:00Z,7\n2026-01-01T00:02:00Z,0\n"


def upload(client, workload, content: bytes, name="trace.csv"):
    return client.post(
        "/api/v1/trace-imports/",
        {"workload": workload.pk, "series": "requests", "file": SimpleUploadedFile(name, content)},
        format="multipart",
    )


def test_upload_queues_one_import_that_the_task_completes(
    sre_a, team_a, django_capture_on_commit_callbacks
):
    workload = WorkloadFactory(team=team_a)

    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(sre_a, workload, CSV)

    assert response.status_code == 201, response.data
    assert response.data["status"] == "queued" and len(callbacks) == 1
    services.execute_trace_import(response.data["id"])
    done = TraceImport.objects.get()
    assert (done.status, done.rows_imported, done.interval_s) == ("succeeded", 3, 60)
    assert list(MetricObservation.objects.values_list("value", flat=True)) == [5.0, 7.0, 0.0]


def test_a_redelivered_import_does_not_duplicate_rows(sre_a, team_a):
    workload = WorkloadFactory(team=team_a)
    trace_import = services.queue_trace_import(
        workload=workload,
        series="requests",
        filename="t.csv",
        content=CSV,
        by=workload_owner(),
    )
    TraceImport.objects.filter(pk=trace_import.pk).update(status="running")  # its worker died

    services.execute_trace_import(trace_import.pk)
    services.execute_trace_import(trace_import.pk)

    assert MetricObservation.objects.count() == 3
    assert TraceImport.objects.get().status == "succeeded"


def workload_owner():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="sre-a")


def test_a_malformed_trace_is_refused_naming_the_row(sre_a, team_a):
    workload = WorkloadFactory(team=team_a)
    out_of_order = CSV.replace(b"00:01:00Z", b"00:03:00Z")

    response = upload(sre_a, workload, out_of_order)

    assert response.status_code == 400
    assert "row 3" in str(field_errors(response)["file"]) or "row 4" in str(
        field_errors(response)["file"]
    )
    assert not TraceImport.objects.exists()


def test_a_trace_with_a_bad_header_or_value_is_refused(sre_a, team_a):
    workload = WorkloadFactory(team=team_a)

    header = upload(sre_a, workload, b"time,count\n2026-01-01T00:00:00Z,1\n")
    negative = upload(sre_a, workload, CSV.replace(b",7\n", b",-7\n"))

    assert "header must be 'timestamp,value'" in str(field_errors(header)["file"])
    assert "row 3: value '-7' is not a finite number >= 0" in str(field_errors(negative)["file"])


def test_a_failed_parse_is_recorded_on_the_import(team_a, sre_a):
    workload = WorkloadFactory(team=team_a)
    trace_import = services.queue_trace_import(
        workload=workload,
        series="requests",
        filename="bad.csv",
        content=b"nope",
        by=workload_owner(),
    )

    services.execute_trace_import(trace_import.pk)

    trace_import.refresh_from_db()
    assert trace_import.status == "failed" and "bad.csv: header must be" in trace_import.message
    assert not MetricObservation.objects.exists()


def test_a_real_trace_imports_every_row(sre_a, team_a):
    workload = WorkloadFactory(team=team_a)
    content = (TRACES / "alibaba_cluster2018_cpu_5min.csv").read_bytes()
    trace_import = services.queue_trace_import(
        workload=workload, series="cpu_util", filename="a.csv", content=content, by=workload_owner()
    )

    services.execute_trace_import(trace_import.pk)

    assert MetricObservation.objects.filter(series="cpu_util").count() == 1728


def minutes(n, missing=(), jitter_s=0):
    """A per-minute trace CSV; every other row `jitter_s` seconds late."""
    rows = [
        f"2026-01-01T{i // 60:02d}:{i % 60:02d}:{jitter_s * (i % 2):02d}Z,{i}"
        for i in range(n)
        if i not in missing
    ]
    return ("timestamp,value\n" + "\n".join(rows) + "\n").encode()


def test_a_trace_missing_a_few_rows_stores_the_rows_it_has(sre_a, team_a):
    workload = WorkloadFactory(team=team_a)

    response = upload(sre_a, workload, minutes(120, missing=(30, 31)))
    assert response.status_code == 201, response.data
    services.execute_trace_import(response.data["id"])

    done = TraceImport.objects.get()
    assert (done.status, done.rows_imported, done.interval_s) == ("succeeded", 118, 60)
    assert done.message == "118 new points, 0 replaced; 2 missing intervals left as gaps " + (
        "(forecasts fill them)"
    )
    stored = list(MetricObservation.objects.order_by("ts").values_list("value", flat=True))
    assert stored == [float(i) for i in range(120) if i not in (30, 31)]  # none interpolated


def test_a_jittered_trace_is_stored_on_its_grid_and_says_so(sre_a, team_a):
    workload = WorkloadFactory(team=team_a)

    response = upload(sre_a, workload, minutes(120, jitter_s=3))
    assert response.status_code == 201, response.data
    services.execute_trace_import(response.data["id"])

    done = TraceImport.objects.get()
    assert (done.status, done.rows_imported, done.interval_s) == ("succeeded", 120, 60)
    assert done.message == "120 new points, 0 replaced; 60 rows off the 60 s grid moved to it " + (
        "(averaged where they met)"
    )
    stored = list(MetricObservation.objects.order_by("ts").values_list("ts", flat=True))
    assert all(ts.second == 0 for ts in stored) and len(stored) == 120


def test_a_trace_with_a_long_hole_is_refused_naming_it(sre_a, team_a):
    workload = WorkloadFactory(team=team_a)

    response = upload(sre_a, workload, minutes(120, missing=range(30, 40)))

    assert response.status_code == 400
    assert "longest gap is 10 intervals of 60s" in str(field_errors(response)["file"])
    assert not TraceImport.objects.exists()


def test_a_trace_under_the_documented_limit_but_over_the_json_limit_is_taken(sre_a, team_a):
    workload = WorkloadFactory(team=team_a)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = (f"{start + timedelta(minutes=i):%Y-%m-%dT%H:%M:%SZ},{i % 97}\n" for i in range(600_000))
    content = ("timestamp,value\n" + "".join(rows)).encode()
    assert 10 * 2**20 < len(content) < 20 * 2**20  # over the JSON body limit, under the upload's

    response = upload(sre_a, workload, content)

    assert response.status_code == 201, getattr(response, "data", response.content[:200])
