import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from apps.catalog.tests.factories import InstanceTypeFactory
from apps.workloads.models import SLA, MetricObservation, ModelVariant, Workload
from apps.workloads.tests.factories import WorkloadFactory
from conftest import field_errors

START = datetime(2026, 11, 1, tzinfo=UTC)


def minute_points(n: int, start: datetime = START) -> list[dict]:
    return [
        {
            "ts": (start + timedelta(minutes=i)).isoformat().replace("+00:00", "Z"),
            "value": float(100 + i % 1440),
        }
        for i in range(n)
    ]


@pytest.fixture
def workload_a(team_a):
    return WorkloadFactory(team=team_a, name="ranker")


def test_ci_registers_a_workload_with_sla_variant_and_a_week_of_minute_metrics(ci_a, team_a):
    InstanceTypeFactory(name="g5.xlarge", gpu_count=1, gpu_model="NVIDIA A10G")
    created = ci_a.post(
        "/api/v1/workloads/", {"team": "team-a", "name": "ranker", "kind": "online"}, format="json"
    )
    assert created.status_code == 201, created.data
    workload_id = created.data["id"]

    sla = ci_a.post(
        "/api/v1/slas/",
        {
            "workload": workload_id,
            "latency_percentile": 99,
            "latency_target_ms": 100,
            "availability": 0.999,
        },
        format="json",
    )
    variant = ci_a.post(
        "/api/v1/model-variants/",
        {
            "workload": workload_id,
            "name": "ranker-small",
            "version": "2026.11.1",
            "accuracy": 0.91,
            "memory_mb": 3000,
            "capacity_profiles": [
                {"instance_type": "g5.xlarge", "max_rps": 120, "service_time_ms": 18}
            ],
        },
        format="json",
    )
    week = minute_points(7 * 24 * 60)
    ingest = ci_a.post(
        f"/api/v1/workloads/{workload_id}/metrics/",
        {"series": "requests", "points": week},
        format="json",
    )
    assert (sla.status_code, variant.status_code, ingest.status_code) == (201, 201, 201), (
        sla.data,
        variant.data,
        ingest.data,
    )
    assert ingest.data == {"received": 10080, "created": 10080, "updated": 0}

    series = ci_a.get(f"/api/v1/workloads/{workload_id}/metrics/", {"series": "requests"}).data
    assert series["timestamps"] == [p["ts"] for p in week]
    assert series["values"] == [p["value"] for p in week]
    read_variant = ci_a.get(f"/api/v1/model-variants/{variant.data['id']}/").data
    assert read_variant["capacity_profiles"] == [
        {
            "instance_type": "g5.xlarge",
            "max_rps": 120.0,
            "items_per_s": None,
            "service_time_ms": 18.0,
        }
    ]
    assert ci_a.get(f"/api/v1/slas/{sla.data['id']}/").data["latency_target_ms"] == 100


def test_sending_the_same_points_twice_keeps_one_row_each(ci_a, workload_a):
    url = f"/api/v1/workloads/{workload_a.pk}/metrics/"
    ci_a.post(url, {"series": "requests", "points": minute_points(60)}, format="json")
    changed = minute_points(60)
    changed[5]["value"] = 7.0

    again = ci_a.post(url, {"series": "requests", "points": changed}, format="json")

    assert again.data == {"received": 60, "created": 0, "updated": 60}
    assert MetricObservation.objects.count() == 60
    assert MetricObservation.objects.get(ts=START + timedelta(minutes=5)).value == 7.0


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda p: p[3].update(value=float("nan")), "points.3.value", "must be finite"),
        (lambda p: p[4].update(value=float("inf")), "points.4.value", "must be finite"),
        (lambda p: p[5].update(value="12"), "points.5.value", "is not a number"),
        (lambda p: p[6].update(ts="yesterday"), "points.6.ts", "is not an ISO-8601 timestamp"),
        (lambda p: p[7].update(ts="2026-11-01T00:07:00"), "points.7.ts", "has no time zone"),
        (lambda p: p.insert(9, p[2]), "points.9.ts", "points must be in time order"),
        (lambda p: p.append(p[-1]), "points.60.ts", "without repeats"),
    ],
)
def test_a_bad_point_refuses_the_whole_batch(ci_a, workload_a, mutate, field, message):
    points = minute_points(60)
    mutate(points)
    body = json.dumps({"series": "requests", "points": points})  # allows NaN, as clients send it

    response = ci_a.post(
        f"/api/v1/workloads/{workload_a.pk}/metrics/", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert message in str(field_errors(response)[field])
    assert not MetricObservation.objects.exists()


@override_settings(MAX_POINTS_PER_REQUEST=100)
def test_too_many_points_are_refused_naming_the_limit(ci_a, workload_a):
    response = ci_a.post(
        f"/api/v1/workloads/{workload_a.pk}/metrics/",
        {"series": "requests", "points": minute_points(101)},
        format="json",
    )

    assert response.status_code == 400
    assert "the limit is 100" in str(field_errors(response)["points"])
    assert not MetricObservation.objects.exists()


@override_settings(MAX_REQUEST_BYTES=50_000)
def test_a_body_over_the_size_limit_is_refused(ci_a, workload_a):
    response = ci_a.post(
        f"/api/v1/workloads/{workload_a.pk}/metrics/",
        {"series": "requests", "points": minute_points(2000)},
        format="json",
    )

    assert response.status_code == 413
    assert "the limit is 50000 bytes (BALLAST_MAX_REQUEST_BYTES)" in response.json()["detail"]
    assert not MetricObservation.objects.exists()


def test_nul_characters_are_refused_in_bodies_forms_and_queries(ci_a, team_a):
    json_body = ci_a.post("/api/v1/workloads/", {"team": "team-\x00", "name": "x"}, format="json")
    form = ci_a.post("/api/v1/workloads/", {"team": "team-a", "name": "x\x00y", "kind": "online"})
    query = ci_a.get("/api/v1/workloads/", {"team": "a\x00"})

    for response in (json_body, form, query):
        assert response.status_code == 400
        assert "NUL character" in response.json()["detail"]
    assert not Workload.objects.exists()


def test_unknown_workload_kind_is_refused(ci_a, team_a):
    response = ci_a.post(
        "/api/v1/workloads/", {"team": "team-a", "name": "x", "kind": "streaming"}, format="json"
    )

    assert response.status_code == 400
    assert "not a valid choice" in str(field_errors(response)["kind"])
    assert not Workload.objects.exists()


def test_online_sla_needs_a_latency_target_and_no_batch_window(ci_a, workload_a):
    response = ci_a.post(
        "/api/v1/slas/",
        {
            "workload": workload_a.pk,
            "latency_percentile": 99,
            "availability": 0.999,
            "window_length_h": 4,
        },
        format="json",
    )

    assert response.status_code == 400
    assert "required for an online workload" in str(field_errors(response)["latency_target_ms"])
    assert "not used by an online workload" in str(field_errors(response)["window_length_h"])
    assert not SLA.objects.exists()


def test_batch_variant_profiles_need_items_per_second(ci_a, team_a):
    InstanceTypeFactory(name="g4dn.xlarge", gpu_count=1, gpu_model="NVIDIA T4")
    batch = WorkloadFactory(team=team_a, kind=Workload.Kind.BATCH)

    response = ci_a.post(
        "/api/v1/model-variants/",
        {
            "workload": batch.pk,
            "name": "embedder",
            "accuracy": 0.8,
            "memory_mb": 4000,
            "capacity_profiles": [{"instance_type": "g4dn.xlarge", "max_rps": 10}],
        },
        format="json",
    )

    assert response.status_code == 400
    assert "required for a batch workload" in str(
        field_errors(response)["capacity_profiles[0].items_per_s"]
    )
    assert not ModelVariant.objects.exists()


def test_a_variant_on_an_unknown_instance_type_is_refused(ci_a, workload_a):
    response = ci_a.post(
        "/api/v1/model-variants/",
        {
            "workload": workload_a.pk,
            "name": "v",
            "accuracy": 0.8,
            "memory_mb": 1,
            "capacity_profiles": [{"instance_type": "z9.huge", "max_rps": 10}],
        },
        format="json",
    )

    assert response.status_code == 400
    errors = field_errors(response)
    assert "does not exist" in str(errors)
    assert all(attr.startswith("capacity_profiles") for attr in errors), errors


def test_a_team_never_sees_another_teams_workloads(sre_b, workload_a):
    assert sre_b.get("/api/v1/workloads/").data["results"] == []
    assert sre_b.get(f"/api/v1/workloads/{workload_a.pk}/").status_code == 404
    assert (
        sre_b.get(f"/api/v1/workloads/{workload_a.pk}/metrics/", {"series": "requests"}).status_code
        == 404
    )
    assert sre_b.get("/api/v1/metric-observations/").data["results"] == []


def test_a_team_cannot_write_another_teams_workloads(sre_b, workload_a, team_a):
    rename = sre_b.patch(f"/api/v1/workloads/{workload_a.pk}/", {"name": "mine"}, format="json")
    create = sre_b.post(
        "/api/v1/workloads/",
        {"team": "team-a", "name": "intruder", "kind": "online"},
        format="json",
    )
    ingest = sre_b.post(
        f"/api/v1/workloads/{workload_a.pk}/metrics/",
        {"series": "requests", "points": minute_points(3)},
        format="json",
    )
    variant = sre_b.post(
        "/api/v1/model-variants/",
        {"workload": workload_a.pk, "name": "v", "accuracy": 0.5, "memory_mb": 1},
        format="json",
    )

    assert (rename.status_code, create.status_code, ingest.status_code) == (404, 403, 404)
    assert variant.status_code == 400 and "does not exist" in str(field_errors(variant)["workload"])
    assert list(Workload.objects.values_list("name", flat=True)) == ["ranker"]
    assert not MetricObservation.objects.exists() and not ModelVariant.objects.exists()


def test_finops_reads_every_team_but_writes_none(finops, workload_a):
    assert [w["name"] for w in finops.get("/api/v1/workloads/").data["results"]] == ["ranker"]

    response = finops.patch(
        f"/api/v1/workloads/{workload_a.pk}/", {"description": "cheaper"}, format="json"
    )

    assert response.status_code == 403


def test_a_viewer_reads_but_cannot_write(viewer_a, workload_a):
    assert viewer_a.get(f"/api/v1/workloads/{workload_a.pk}/").status_code == 200
    assert viewer_a.delete(f"/api/v1/workloads/{workload_a.pk}/").status_code == 403


def test_deployment_target_holds_a_reference_not_credentials(sre_a, workload_a):
    ok = sre_a.post(
        "/api/v1/deployment-targets/",
        {"workload": workload_a.pk, "kind": "k8s_deployment", "reference": "ml/ranker"},
        format="json",
    )
    bad = sre_a.post(
        "/api/v1/deployment-targets/",
        {"workload": workload_a.pk, "kind": "k8s_hpa", "reference": "ranker"},
        format="json",
    )

    assert ok.status_code == 201 and ok.data["dry_run"] is True
    assert bad.status_code == 400 and "namespace/name" in str(field_errors(bad)["reference"])


def test_an_alb_route_target_is_a_listener_or_rule_arn(sre_a, workload_a):
    arn = (
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/ranker/"
        "50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
    )

    def post(reference):
        return sre_a.post(
            "/api/v1/deployment-targets/",
            {"workload": workload_a.pk, "kind": "aws_alb_route", "reference": reference},
            format="json",
        )

    ok, bad = post(arn), post("ranker-listener")

    assert ok.status_code == 201 and ok.data["kind"] == "aws_alb_route"
    assert bad.status_code == 400 and "listener or listener-rule ARN" in str(
        field_errors(bad)["reference"]
    )
    assert workload_a.targets.count() == 1


def test_a_kubernetes_target_may_carry_one_pool_and_an_auto_scaling_group_may_not(
    sre_a, workload_a
):
    spot = sre_a.post(
        "/api/v1/deployment-targets/",
        {
            "workload": workload_a.pk,
            "kind": "k8s_deployment",
            "reference": "ml/r-spot",
            "pool": "spot",
        },
        format="json",
    )
    asg = sre_a.post(
        "/api/v1/deployment-targets/",
        {"workload": workload_a.pk, "kind": "aws_asg", "reference": "ranker", "pool": "spot"},
        format="json",
    )
    odd = sre_a.post(
        "/api/v1/deployment-targets/",
        {"workload": workload_a.pk, "kind": "k8s_deployment", "reference": "ml/r", "pool": "cheap"},
        format="json",
    )

    assert spot.status_code == 201 and spot.data["pool"] == "spot"
    assert asg.status_code == 400 and "carries every pool" in str(field_errors(asg)["pool"])
    assert odd.status_code == 400 and "pool" in field_errors(odd)
    assert workload_a.targets.count() == 1


def test_an_slas_accuracy_floor_is_a_share_between_0_and_1(ci_a, workload_a):
    sla = {"workload": workload_a.pk, "latency_percentile": 99, "latency_target_ms": 100}
    sla |= {"availability": 0.999}
    bad = ci_a.post("/api/v1/slas/", sla | {"min_accuracy": 1.5}, format="json")
    nan = ci_a.post("/api/v1/slas/", sla | {"min_accuracy": "NaN"}, format="json")
    ok = ci_a.post("/api/v1/slas/", sla | {"min_accuracy": 0.92}, format="json")

    assert bad.status_code == 400 and "min_accuracy" in field_errors(bad)
    assert nan.status_code == 400 and "min_accuracy" in field_errors(nan)
    assert ok.status_code == 201, ok.data
    assert SLA.objects.get().min_accuracy == 0.92


def test_an_slas_peak_is_a_finite_positive_rate_for_online_workloads_only(ci_a, workload_a, team_a):
    sla = {"workload": workload_a.pk, "latency_percentile": 99, "latency_target_ms": 100}
    sla |= {"availability": 0.999}
    refused = [
        ci_a.post("/api/v1/slas/", sla | {"peak_rps": value}, format="json")
        for value in (0, -5, "NaN", "Infinity", 1e300, "lots")
    ]
    ok = ci_a.post("/api/v1/slas/", sla | {"peak_rps": 5000}, format="json")
    batch = Workload.objects.create(team=team_a, name="nightly", kind="batch")
    window = {"workload": batch.pk, "window_start_utc": "01:00", "window_length_h": 5}
    on_batch = ci_a.post("/api/v1/slas/", window | {"peak_rps": 10}, format="json")

    assert all(r.status_code == 400 and "peak_rps" in field_errors(r) for r in refused), refused
    assert ok.status_code == 201, ok.data
    assert SLA.objects.get().peak_rps == 5000
    assert on_batch.status_code == 400 and "not used by a batch workload" in str(on_batch.data)


def test_a_batch_runs_items_are_a_finite_positive_count_for_batch_workloads_only(
    ci_a, workload_a, team_a
):
    batch = Workload.objects.create(team=team_a, name="nightly", kind="batch")
    window = {"workload": batch.pk, "window_start_utc": "01:00", "window_length_h": 5}
    refused = [
        ci_a.post("/api/v1/slas/", window | {"items_per_run": value}, format="json")
        for value in (0, -5, "NaN", "Infinity", 1e13, "lots")
    ]
    online = {"workload": workload_a.pk, "latency_percentile": 99, "latency_target_ms": 100}
    on_online = ci_a.post(
        "/api/v1/slas/", online | {"availability": 0.999, "items_per_run": 10}, format="json"
    )
    ok = ci_a.post("/api/v1/slas/", window | {"items_per_run": 2e7}, format="json")

    assert all(r.status_code == 400 and "items_per_run" in field_errors(r) for r in refused), (
        refused
    )
    assert on_online.status_code == 400 and "not used by an online workload" in str(on_online.data)
    assert ok.status_code == 201, ok.data
    assert SLA.objects.get().items_per_run == 2e7


def test_lists_paginate_and_filter(sre_a, team_a):
    for i in range(3):
        WorkloadFactory(team=team_a, name=f"w{i}", kind="batch" if i else "online")

    page = sre_a.get("/api/v1/workloads/", {"limit": 2, "kind": "batch"}).data

    assert page["count"] == 2 and len(page["results"]) == 2
    assert {w["kind"] for w in page["results"]} == {"batch"}


def test_anonymous_requests_are_refused(client, workload_a):
    assert client.get("/api/v1/workloads/").status_code in (401, 403)
    assert client.get("/api/v1/offers/").status_code in (401, 403)


def test_unknown_fields_are_refused_by_name(ci_a, team_a):
    response = ci_a.post(
        "/api/v1/workloads/",
        {"team": "team-a", "name": "x", "kind": "online", "knid": "batch"},
        format="json",
    )

    assert response.status_code == 400
    assert field_errors(response) == {"knid": ["unknown field"]}
    assert not Workload.objects.exists()
