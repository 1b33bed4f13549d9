"""Every change to a workload, its SLA and its variants through the API is on the audit trail."""

from apps.catalog.tests.factories import InstanceTypeFactory
from apps.plans.models import AuditEvent


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))


def test_a_workload_its_sla_and_variant_are_audited_with_before_and_after(ci_a, sre_a, team_a):
    InstanceTypeFactory(name="g5.xlarge")
    workload = ci_a.post(
        "/api/v1/workloads/", {"team": "team-a", "name": "ranker", "kind": "online"}, format="json"
    ).data
    url = f"/api/v1/workloads/{workload['id']}/"
    assert sre_a.patch(url, {"description": "v2"}, format="json").status_code == 200
    sla = ci_a.post(
        "/api/v1/slas/",
        {
            "workload": workload["id"],
            "latency_percentile": 99,
            "latency_target_ms": 100,
            "availability": 0.999,
        },
        format="json",
    ).data
    sla_url = f"/api/v1/slas/{sla['id']}/"
    assert ci_a.patch(sla_url, {"latency_target_ms": 80}, format="json").status_code == 200
    variant = ci_a.post(
        "/api/v1/model-variants/",
        {
            "workload": workload["id"],
            "name": "ranker-small",
            "accuracy": 0.9,
            "memory_mb": 2048,
            "capacity_profiles": [{"instance_type": "g5.xlarge", "max_rps": 60}],
        },
        format="json",
    ).data
    assert ci_a.delete(f"/api/v1/model-variants/{variant['id']}/").status_code == 204

    assert actions() == [
        "workload.created",
        "workload.changed",
        "sla.created",
        "sla.changed",
        "variant.created",
        "variant.removed",
    ]
    changed = AuditEvent.objects.get(action="workload.changed")
    assert (changed.actor, changed.via, changed.workload_id) == ("sre-a", "token", workload["id"])
    assert changed.detail["before"]["description"] == ""
    assert changed.detail["after"]["description"] == "v2"
    sla_change = AuditEvent.objects.get(action="sla.changed").detail
    assert (
        sla_change["before"]["latency_target_ms"],
        sla_change["after"]["latency_target_ms"],
    ) == (
        100,
        80,
    )
    removed = AuditEvent.objects.get(action="variant.removed")
    assert removed.detail["after"] is None
    assert removed.detail["before"]["capacity_profiles"][0]["instance_type"] == "g5.xlarge"
    assert removed.reason == "variant ranker-small removed"


def test_a_removed_workload_stays_on_the_trail_by_id_and_name(ci_a, team_a):
    workload = ci_a.post(
        "/api/v1/workloads/", {"team": "team-a", "name": "scratch", "kind": "batch"}, format="json"
    ).data
    assert ci_a.delete(f"/api/v1/workloads/{workload['id']}/").status_code == 204

    removed = AuditEvent.objects.get(action="workload.removed")
    assert (removed.workload_id, removed.workload_name) == (workload["id"], "scratch")
    assert removed.detail["before"]["kind"] == "batch" and removed.detail["after"] is None


def test_a_change_refused_writes_no_change_event(ci_a, sre_b, team_a):
    workload = ci_a.post(
        "/api/v1/workloads/", {"team": "team-a", "name": "ranker", "kind": "online"}, format="json"
    ).data
    url = f"/api/v1/workloads/{workload['id']}/"
    assert sre_b.patch(url, {"description": "theirs"}, format="json").status_code == 404
    bad = ci_a.patch(url, {"kind": "nonsense"}, format="json")
    assert bad.status_code == 400
    assert actions() == ["workload.created"]
