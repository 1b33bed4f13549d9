"""Hostile inputs to the metrics API and trace uploads: a 400 naming the field, nothing stored."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.workloads.models import MetricObservation, TraceImport
from apps.workloads.tests.factories import WorkloadFactory
from conftest import field_errors


@pytest.fixture
def workload_a(team_a):
    return WorkloadFactory(team=team_a, name="ranker")


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def minutes(n: int, end: datetime | None = None, value: float = 100.0) -> list[dict]:
    end = end or timezone.now().replace(second=0, microsecond=0)
    return [
        {"ts": iso(end - timedelta(minutes=n - 1 - i)), "value": value + i % 7} for i in range(n)
    ]


def post(client, workload, points, series="requests"):
    body = json.dumps({"series": series, "points": points})
    return client.post(
        f"/api/v1/workloads/{workload.pk}/metrics/", body, content_type="application/json"
    )


@pytest.mark.parametrize(
    ("ts", "value", "field", "message"),
    [
        ("9999-12-31T23:59:00-05:00", 1, "points.1.ts", "outside the accepted range"),
        ("0001-01-01T00:00:00+05:00", 1, "points.1.ts", "outside the accepted range"),
        ("1969-12-31T23:59:59Z", 1, "points.1.ts", "outside the accepted range"),
        (None, int("9" * 400), "points.1.value", "must be finite"),
        (None, -1, "points.1.value", "must be >= 0"),
        (None, 1e12, "points.1.value", "must be below 1e+12"),
    ],
)
def test_a_point_out_of_bounds_is_refused_naming_it(ci_a, workload_a, ts, value, field, message):
    points = minutes(3)
    points[1] = {"ts": ts or points[1]["ts"], "value": value}
    if ts is not None:
        points = points[1:2]
        field = "points.0.ts"

    response = post(ci_a, workload_a, points)

    assert response.status_code == 400, response.content
    assert message in str(field_errors(response)[field])
    assert not MetricObservation.objects.exists()


def test_a_point_far_before_a_series_is_refused_and_a_new_series_is_not(ci_a, workload_a):
    assert post(ci_a, workload_a, minutes(60)).status_code == 201
    schema_example = [
        {"ts": "2026-11-01T00:00:00Z", "value": 4210},
        {"ts": "2026-11-01T00:01:00Z", "value": 4388},
    ]

    response = post(ci_a, workload_a, schema_example)

    assert response.status_code == 400
    assert "days before the series' first point" in str(field_errors(response)["points.0.ts"])
    assert MetricObservation.objects.count() == 60
    # Another series of the same workload has no history yet: the same points are taken.
    assert post(ci_a, workload_a, schema_example, series="latency_p99_ms").status_code == 201


def test_a_point_ahead_of_the_clock_is_refused(ci_a, workload_a):
    ahead = minutes(2, end=timezone.now() + timedelta(hours=3))

    response = post(ci_a, workload_a, ahead)

    assert response.status_code == 400
    assert "h after now" in str(field_errors(response)["points.0.ts"])
    assert not MetricObservation.objects.exists()


def test_a_value_a_thousand_times_the_series_largest_is_refused_once_it_has_history(
    ci_a, workload_a
):
    end = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=1)
    assert post(ci_a, workload_a, minutes(60, end=end)).status_code == 201
    spike = [{"ts": iso(end + timedelta(minutes=1)), "value": 5e8}]

    response = post(ci_a, workload_a, spike)

    assert response.status_code == 400
    assert "1000 times the series' largest value" in str(field_errors(response)["points.0.value"])
    flash_crowd = [{"ts": iso(end + timedelta(minutes=1)), "value": 50_000}]
    assert post(ci_a, workload_a, flash_crowd).status_code == 201


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "9999-12-31T23:59:00-05:00"}, "start"),
        ({"end": "0001-01-01T00:00:00+05:00"}, "end"),
        ({"end": "2100-01-01T00:00:00Z"}, "end"),
    ],
)
def test_a_series_read_out_of_bounds_is_refused_naming_the_parameter(
    ci_a, workload_a, params, field
):
    response = ci_a.get(
        f"/api/v1/workloads/{workload_a.pk}/metrics/", {"series": "requests", **params}
    )
    assert response.status_code == 400
    assert field in field_errors(response)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("9999-12-31T23:59:00-05:00", "ts_after"),
        ("0001-01-01T00:00:00+05:00", "ts_before"),
        ("1900-01-01T00:00:00Z", "ts_after"),
    ],
)
def test_an_observation_filter_out_of_bounds_is_refused_naming_it(ci_a, value, field):
    response = ci_a.get("/api/v1/metric-observations/", {field: value})
    assert response.status_code == 400
    assert field in field_errors(response)


def upload(client, workload, content: bytes, name="trace.csv"):
    return client.post(
        "/api/v1/trace-imports/",
        {"workload": workload.pk, "series": "requests", "file": SimpleUploadedFile(name, content)},
        format="multipart",
    )


def minute_csv(first: str | None = None, n: int = 60) -> bytes:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [f"{iso(start + timedelta(minutes=i))},{i % 9}" for i in range(n)]
    if first:
        rows[0] = f"{first},1"
    return ("timestamp,value\n" + "\n".join(rows) + "\n").encode()


@pytest.mark.parametrize(
    ("first", "message"),
    [
        ("0001-01-01T00:00:00Z", "outside the accepted range"),
        ("1970-01-01T00:00:00Z", "over the limit of 5,000,000"),
        ("2025-12-01T00:00:00Z", "misses"),
    ],
)
def test_a_trace_with_a_distant_first_row_is_refused_fast_naming_the_file(
    sre_a, workload_a, first, message
):
    started = datetime.now()

    response = upload(sre_a, workload_a, minute_csv(first), name="odd.csv")

    assert (datetime.now() - started).total_seconds() < 5
    assert response.status_code == 400
    assert "odd.csv" in str(field_errors(response)["file"]) and message in str(
        field_errors(response)["file"]
    )
    assert not TraceImport.objects.exists() and not MetricObservation.objects.exists()


def test_a_trace_ahead_of_the_clock_is_refused(sre_a, workload_a):
    now = timezone.now()
    rows = [f"{iso(now + timedelta(hours=2, minutes=i))},1" for i in range(10)]

    response = upload(sre_a, workload_a, ("timestamp,value\n" + "\n".join(rows)).encode())

    assert response.status_code == 400
    assert "h after now" in str(field_errors(response)["file"])
    assert not TraceImport.objects.exists()


def test_a_what_if_upload_with_a_distant_first_row_is_refused_naming_the_trace(sre_a):
    from apps.simulations.services import SimulationError, _checked_upload

    upload = SimpleUploadedFile("odd.csv", minute_csv("1970-01-01T00:00:00Z"))
    with pytest.raises(SimulationError) as refused:
        _checked_upload(upload)
    assert refused.value.field == "trace" and "over the limit" in refused.value.message


def test_a_body_nested_too_deeply_is_refused_not_a_server_error(ci_a, workload_a):
    depth = 100_000  # Python's json gives up near 1,000 levels, with a RecursionError
    body = '{"series": ' + "[" * depth + "]" * depth + "}"

    response = ci_a.post(
        f"/api/v1/workloads/{workload_a.pk}/metrics/", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert not MetricObservation.objects.exists()


def test_a_batch_of_one_second_points_is_stored_then_replaced_whole(ci_a, workload_a):
    end = timezone.now().replace(microsecond=0) - timedelta(minutes=5)
    points = [{"ts": iso(end - timedelta(seconds=k)), "value": k} for k in range(3000, 0, -1)]

    first = post(ci_a, workload_a, points, series="bench")
    again = post(ci_a, workload_a, [p | {"value": p["value"] + 1} for p in points], "bench")

    assert first.data == {"received": 3000, "created": 3000, "updated": 0}
    assert again.data == {"received": 3000, "created": 0, "updated": 3000}
    stored = MetricObservation.objects.filter(series="bench").order_by("ts")
    assert [o.value for o in stored[:2]] == [3001, 3000]


def test_a_form_of_more_fields_than_django_reads_is_refused_not_a_server_error(ci_a, workload_a):
    form = "&".join(["series=requests"] * 5000)  # DATA_UPLOAD_MAX_NUMBER_FIELDS is 1,000

    response = ci_a.post(
        f"/api/v1/workloads/{workload_a.pk}/metrics/",
        form,
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 415  # bodies are JSON
    assert response["Content-Type"] == "application/problem+json"
    assert not MetricObservation.objects.exists()


def test_eighty_thousand_unknown_fields_are_refused_with_a_short_answer(sre_a, workload_a):
    body = {"workload": workload_a.pk, "kind": "k8s_deployment", "reference": "prod/ranker"}
    body |= {f"k{i}": 0 for i in range(80_000)}

    response = sre_a.post("/api/v1/deployment-targets/", body, format="json")

    assert response.status_code == 400
    assert len(response.content) < 10_000  # 20 named, the rest counted; not 5 MB of names


def test_a_trace_upload_of_more_fields_than_django_reads_is_refused_not_a_server_error(
    sre_a, workload_a
):
    fields = {f"f{i}": "1" for i in range(2000)}  # DATA_UPLOAD_MAX_NUMBER_FIELDS is 1,000
    trace = SimpleUploadedFile("t.csv", b"timestamp,value\n2026-11-01T00:00:00Z,1\n")

    response = sre_a.post(
        "/api/v1/trace-imports/",
        {"workload": workload_a.pk, "file": trace, **fields},
        format="multipart",
    )

    assert response.status_code == 400
    assert not TraceImport.objects.exists()
