"""Prometheus metric sources: pulls against a real HTTP server speaking the Prometheus API."""

import json
import socket
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict

from apps.workloads import services, tasks
from apps.workloads.models import MetricObservation, MetricSource
from apps.workloads.tests.factories import WorkloadFactory
from apps.workloads.tests.prometheus_server import PrometheusServer
from conftest import field_errors

NOW = datetime(2026, 11, 2, 12, 0, 30, tzinfo=UTC)
TEMPLATE = 'sum(rate(http_requests_total{job="{workload}"}[1m]))'
QUERY = 'sum(rate(http_requests_total{job="ranker"}[1m]))'


@pytest.fixture
def prom():
    server = PrometheusServer().start()
    yield server
    server.stop()


@pytest.fixture
def workload(team_a):
    return WorkloadFactory(team=team_a, name="ranker")


@pytest.fixture(autouse=True)
def allowed_servers(settings):
    """The servers an operator listed: the test server (any port) and in-cluster names."""
    settings.PROMETHEUS_HOSTS = [
        "127.0.0.1",
        "prometheus:9090",
        "PROM.monitoring.svc.:9090",
        "[0:0::1]:9090",
    ]


def grid_points(end: datetime, hours: float, step_s: int = 60) -> list[tuple[float, float]]:
    """A point every `step_s` for `hours` up to `end`, with values that are not round."""
    end_s = int(end.timestamp()) // step_s * step_s
    n = int(hours * 3600 / step_s)
    return [(end_s - (n - i) * step_s, 1234.5678 + i / 7) for i in range(n + 1)]


def make_source(workload, prom, **fields) -> MetricSource:
    values = dict(series="requests", base_url=prom.url, promql=TEMPLATE, step_s=60, lookback_h=1)
    return MetricSource.objects.create(workload=workload, **(values | fields))


def stored(workload, series="requests") -> list[tuple[datetime, float]]:
    rows = MetricObservation.objects.filter(workload=workload, series=series).order_by("ts")
    return list(rows.values_list("ts", "value"))


def at(unix_s: float) -> datetime:
    return datetime.fromtimestamp(unix_s, UTC)


def test_pull_stores_each_point_with_its_exact_timestamp_and_value(workload, prom):
    points = grid_points(NOW, hours=3)
    prom.add_series(QUERY, points)
    source = make_source(workload, prom)

    source = services.pull_metrics(source.pk, now=NOW)

    first, last = NOW.replace(hour=11, minute=1, second=0), NOW.replace(minute=0, second=0)
    last -= timedelta(minutes=1)  # the newest minute may still change: left for the next pull
    assert [(r.query, at(r.start_s), at(r.end_s), r.step_s) for r in prom.requests] == [
        (QUERY, first, last, 60)
    ]
    expected = [(at(t), v) for t, v in points if first <= at(t) <= last]
    assert len(expected) == 59
    assert stored(workload) == expected
    assert (source.points_last_pull, source.last_success_at, source.last_error) == (59, NOW, "")


def test_second_pull_asks_only_for_the_new_range_and_is_idempotent(workload, prom):
    prom.add_series(QUERY, grid_points(NOW + timedelta(hours=1), hours=3))
    source = make_source(workload, prom)
    services.pull_metrics(source.pk, now=NOW)
    first_pull = stored(workload)

    again = services.pull_metrics(source.pk, now=NOW)
    assert len(prom.requests) == 1  # nothing new on the grid: no request at all
    assert (again.points_last_pull, again.last_error, stored(workload)) == (0, "", first_pull)

    later = services.pull_metrics(source.pk, now=NOW + timedelta(minutes=10))
    newest = prom.requests[-1]
    assert (at(newest.start_s), at(newest.end_s)) == (
        first_pull[-1][0] + timedelta(minutes=1),
        first_pull[-1][0] + timedelta(minutes=10),
    )
    assert later.points_last_pull == 10
    assert stored(workload)[:59] == first_pull and len(stored(workload)) == 69

    MetricObservation.objects.filter(ts__gt=first_pull[-1][0]).delete()
    services.pull_metrics(source.pk, now=NOW + timedelta(minutes=10))
    assert len(stored(workload)) == 69
    assert at(prom.requests[-1].start_s) == first_pull[-1][0] + timedelta(minutes=1)


def test_a_range_over_11000_points_is_asked_for_in_chunks_prometheus_accepts(workload, prom):
    points = grid_points(NOW, hours=73, step_s=15)
    prom.add_series(QUERY, points)
    source = make_source(workload, prom, step_s=15, lookback_h=72)

    source = services.pull_metrics(source.pk, now=NOW)

    assert source.last_error == ""
    assert len(prom.requests) == 2
    assert all((r.end_s - r.start_s) / 15 + 1 <= 11_000 for r in prom.requests)
    assert prom.requests[1].start_s == prom.requests[0].end_s + 15
    rows = stored(workload)
    assert len(rows) == source.points_last_pull == 72 * 240 - 4 + 1
    assert (rows[0][0], rows[-1][0]) == (NOW - timedelta(hours=72), NOW - timedelta(seconds=60))
    assert rows == [(at(t), v) for t, v in points if rows[0][0] <= at(t) <= rows[-1][0]]


def test_test_server_refuses_more_than_11000_points_as_prometheus_does(prom):
    url = f"{prom.url}/api/v1/query_range?query=up&start=0&end=165015&step=15"
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url, timeout=5)
    assert caught.value.code == 400
    assert json.loads(caught.value.read()) == {
        "status": "error",
        "errorType": "bad_data",
        "error": "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing "
        "the query resolution (?step=XX)",
    }
    with urllib.request.urlopen(url.replace("165015", "165000"), timeout=5) as ok:
        assert json.loads(ok.read())["status"] == "success"


@pytest.mark.parametrize(
    "fault, message",
    [
        ("delay", "did not answer within 0.3 s"),
        ("garbage", "is not JSON (text/html, 39 bytes): is base_url the address of a Prometheus"),
        ("http_500", "answered HTTP 500 Internal Server Error"),
        ("http_503", "Prometheus refused the query (HTTP 503, timeout): query timed out"),
        ("status_error", "(HTTP 422, execution): found duplicate series for the match group"),
        ("empty", "the query returned no data from 2026-11-02T11:01:00Z to 2026-11-02T11:59:00Z"),
        ("two_series", 'returned 2 series ({pod="ranker-0"}, {pod="ranker-1"}) but must return'),
        ("nan", "20 of 59 values are NaN or infinite (the first, NaN, at 2026-11-02T11:02:00Z)"),
        ("vector", "the result is a 'vector', not a 'matrix'"),
    ],
)
def test_each_failure_is_recorded_on_the_source_and_nothing_is_stored(
    workload, prom, monkeypatch, fault, message
):
    monkeypatch.setattr(services, "PROMETHEUS_TIMEOUT_S", 0.3)
    prom.add_series(QUERY, grid_points(NOW, hours=3))
    prom.fault, prom.delay_s = fault, 1.0
    source = make_source(workload, prom)

    source = services.pull_metrics(source.pk, now=NOW)

    assert message in source.last_error
    assert (source.last_error_at, source.last_success_at, source.points_last_pull) == (NOW, None, 0)
    assert stored(workload) == []


def test_an_unreachable_server_is_recorded_on_the_source(workload, prom):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = make_source(workload, prom, base_url=f"http://127.0.0.1:{port}")

    source = services.pull_metrics(source.pk, now=NOW)

    assert source.last_error.startswith(f"cannot connect to http://127.0.0.1:{port}: ")
    assert stored(workload) == []


def test_a_failed_chunk_stores_nothing_and_the_next_pull_recovers(workload, prom):
    prom.add_series(QUERY, grid_points(NOW, hours=73, step_s=15))
    prom.fault, prom.fault_after = "http_500", 1
    source = make_source(workload, prom, step_s=15, lookback_h=72)

    failed = services.pull_metrics(source.pk, now=NOW)
    assert len(prom.requests) == 2 and "HTTP 500" in failed.last_error
    assert stored(workload) == []

    prom.fault = None
    recovered = services.pull_metrics(source.pk, now=NOW)
    assert (recovered.last_error, recovered.last_error_at) == ("", None)
    assert recovered.points_last_pull == len(stored(workload)) == 72 * 240 - 3


def test_the_token_comes_from_the_named_variable_is_sent_as_bearer_and_never_stored(
    workload, prom, monkeypatch, sre_a
):
    prom.add_series(QUERY, grid_points(NOW, hours=2))
    prom.token = "s3cret-token"
    workload.team.prometheus_token_envs = ["BALLAST_PROM_TOKEN"]
    workload.team.save()
    source = make_source(workload, prom, token_env="BALLAST_PROM_TOKEN")

    monkeypatch.delenv("BALLAST_PROM_TOKEN", raising=False)
    unset = services.pull_metrics(source.pk, now=NOW)
    assert unset.last_error.startswith("environment variable BALLAST_PROM_TOKEN is not set")
    assert prom.requests == []

    monkeypatch.setenv("BALLAST_PROM_TOKEN", "wrong")
    assert "answered HTTP 401" in services.pull_metrics(source.pk, now=NOW).last_error

    monkeypatch.setenv("BALLAST_PROM_TOKEN", "s3cret-token")
    pulled = services.pull_metrics(source.pk, now=NOW)
    assert (pulled.last_error, pulled.points_last_pull) == ("", 59)
    assert prom.requests[-1].headers["Authorization"] == "Bearer s3cret-token"
    assert "s3cret" not in json.dumps(model_to_dict(pulled), default=str)
    assert "s3cret" not in sre_a.get(f"/api/v1/metric-sources/{source.pk}/").content.decode()


def test_a_team_cannot_send_a_token_granted_to_another_team(
    workload, prom, monkeypatch, sre_a, team_b
):
    team_b.prometheus_token_envs = ["BALLAST_PROM_TEAM_B"]
    team_b.save()
    monkeypatch.setenv("BALLAST_PROM_TEAM_B", "team-b-token")
    body = source_body(workload, prom, token_env="BALLAST_PROM_TEAM_B")

    refused = sre_a.post("/api/v1/metric-sources/", body, format="json")
    assert refused.status_code == 400
    assert "BALLAST_PROM_TEAM_B is not granted to team team-a" in str(
        field_errors(refused)["token_env"]
    )
    assert not MetricSource.objects.exists()

    # A row written around the API (or a grant revoked later) is refused at pull time.
    prom.add_series(QUERY, grid_points(NOW, hours=1))
    source = make_source(workload, prom, token_env="BALLAST_PROM_TEAM_B")
    pulled = services.pull_metrics(source.pk, now=NOW)
    assert "not granted to team team-a" in pulled.last_error
    assert prom.requests == []  # the token never left


def test_operators_grant_only_well_named_distinct_variables(team_a):
    for names, message in [
        ("BALLAST_PROM_X", "give a list"),
        (["BALLAST_SECRET_KEY"], "starting with BALLAST_PROM_"),
        (["BALLAST_PROM_X", "BALLAST_PROM_X"], "listed twice"),
    ]:
        team_a.prometheus_token_envs = names
        with pytest.raises(ValidationError, match=message):
            team_a.full_clean()


def test_pull_task_skips_disabled_and_deleted_sources(workload, prom):
    prom.add_series(QUERY, grid_points(datetime.now(UTC), hours=2))
    disabled = make_source(workload, prom, enabled=False)

    assert tasks.pull_metric_sources([disabled.pk, disabled.pk + 1000])["pulled"] == 0

    assert prom.requests == []
    MetricSource.objects.filter(pk=disabled.pk).update(enabled=True)
    assert tasks.pull_metric_sources([disabled.pk])["pulled"] == 1
    assert len(prom.requests) == 1 and len(stored(workload)) >= 59


# --- API --------------------------------------------------------------------------------------


def source_body(workload, prom, **fields) -> dict:
    body = {"workload": workload.pk, "series": "requests", "base_url": prom.url}
    return body | {"promql": TEMPLATE, "step_s": 60, "lookback_h": 1} | fields


def test_team_writers_create_sources_and_readers_only_read(
    workload, prom, ci_a, viewer_a, finops, sre_b
):
    created = ci_a.post("/api/v1/metric-sources/", source_body(workload, prom), format="json")
    assert created.status_code == 201, created.data
    assert created.data | {"id": 0, "created_at": ""} == {
        "id": 0,
        "workload": workload.pk,
        "series": "requests",
        "base_url": prom.url,
        "promql": TEMPLATE,
        "step_s": 60,
        "lookback_h": 1,
        "token_env": "",
        "enabled": True,
        "last_success_at": None,
        "last_error": "",
        "last_error_at": None,
        "points_last_pull": 0,
        "created_at": "",
    }
    detail = f"/api/v1/metric-sources/{created.data['id']}/"

    for reader in (viewer_a, finops):
        assert reader.get(detail).status_code == 200
        assert reader.patch(detail, {"enabled": False}, format="json").status_code == 403
        body = source_body(workload, prom, series="cpu_utilization")
        assert reader.post("/api/v1/metric-sources/", body, format="json").status_code == 403
        assert reader.post(f"{detail}pull/").status_code == 403
    assert sre_b.get(detail).status_code == 404
    assert sre_b.post(f"{detail}pull/").status_code == 404
    assert ci_a.patch(detail, {"step_s": 300}, format="json").data["step_s"] == 300


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("token", "s3cret", "unknown field"),
        ("base_url", "ftp://prometheus:21", "use an http or https URL"),
        ("base_url", "http://admin:pw@prometheus:9090", "no credentials in the URL"),
        ("base_url", "http://prometheus:9090/?x=1", "no query or fragment"),
        ("base_url", "http://prometheus:99999", "not a URL: Port out of range"),
        ("base_url", "http://[prometheus:9090", "not a URL: Invalid IPv6 URL"),
        ("base_url", "http://prom_etheus:9090", "is not a host name or IP address"),
        ("base_url", "http://169.254.169.254/", "169.254.169.254:80 is not an allowed Prometheus"),
        ("base_url", "http://prometheus:9100", "prometheus:9100 is not an allowed Prometheus"),
        ("base_url", "https://prometheus", "prometheus:443 is not an allowed Prometheus server"),
        ("base_url", "http://127.0.0.2:9090", "127.0.0.2:9090 is not an allowed Prometheus"),
        ("promql", "sum(rate(http_requests_total[1m])", "'(' at character 4 is never closed"),
        ("promql", 'sum(up{job="{team}"})', "unknown template variable {team}"),
        ("step_s", 10, "greater than or equal to 15"),
        ("lookback_h", 0, "greater than or equal to 1"),
        ("token_env", "BALLAST_SECRET_KEY", "starting with BALLAST_PROM_"),
        ("series", "P99 latency", "use lowercase letters"),
    ],
)
def test_sources_are_validated_field_by_field(workload, prom, sre_a, field, value, message):
    body = source_body(workload, prom, **{field: value})

    response = sre_a.post("/api/v1/metric-sources/", body, format="json")

    assert response.status_code == 400
    assert message in str(field_errors(response)[field]), response.data


@pytest.mark.parametrize(
    "url",
    ["http://prometheus:9090", "https://prom.monitoring.svc:9090/prometheus/", "http://[::1]:9090"],
)
def test_in_cluster_and_prefixed_addresses_are_accepted(workload, prom, sre_a, url):
    body = source_body(workload, prom, base_url=url)

    assert sre_a.post("/api/v1/metric-sources/", body, format="json").status_code == 201


def test_one_source_per_series_of_a_workload(workload, prom, sre_a):
    make_source(workload, prom)

    response = sre_a.post("/api/v1/metric-sources/", source_body(workload, prom), format="json")

    assert response.status_code == 400
    assert field_errors(response) == {"series": ["workload already has a source for 'requests'"]}


def test_pull_endpoint_pulls_now_and_reports_failures_in_the_source(workload, prom, sre_a):
    prom.add_series(QUERY, grid_points(datetime.now(UTC), hours=2))
    source = make_source(workload, prom)

    pulled = sre_a.post(f"/api/v1/metric-sources/{source.pk}/pull/")
    assert pulled.status_code == 200, pulled.data
    assert pulled.data["last_error"] == "" and pulled.data["points_last_pull"] >= 59

    MetricObservation.objects.filter(workload=workload).delete()  # so there is a range to ask
    prom.fault = "garbage"
    failed = sre_a.post(f"/api/v1/metric-sources/{source.pk}/pull/")
    assert failed.status_code == 200
    assert "is not JSON" in failed.data["last_error"]
    assert failed.data["last_error_at"] is not None


def test_schema_documents_metric_sources_and_the_pull_action(sre_a):
    paths = sre_a.get("/api/schema/", {"format": "json"}).json()["paths"]

    assert "/api/v1/metric-sources/" in paths
    assert set(paths["/api/v1/metric-sources/{id}/pull/"]) == {"post"}


def test_a_source_whose_server_is_no_longer_listed_is_not_queried(workload, prom, settings):
    prom.add_series(QUERY, grid_points(NOW, hours=1))
    source = make_source(workload, prom)
    settings.PROMETHEUS_HOSTS = ["prometheus:9090"]  # the operator took the server off the list

    source = services.pull_metrics(source.pk, now=NOW)

    address = prom.url.removeprefix("http://")
    assert source.last_error.startswith(f"{address} is not an allowed Prometheus server")
    assert prom.requests == [] and stored(workload) == []


def test_no_server_is_allowed_until_an_operator_lists_one(workload, prom, sre_a, settings):
    settings.PROMETHEUS_HOSTS = []

    response = sre_a.post("/api/v1/metric-sources/", source_body(workload, prom), format="json")

    assert response.status_code == 400
    assert "BALLAST_PROMETHEUS_HOSTS" in str(field_errors(response)["base_url"])
    assert not MetricSource.objects.exists()
