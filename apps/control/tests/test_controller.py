"""The live controller: the simulator's decisions step by step, once per step, restart-proof.

The proof (`test_the_live_path_decides_as_the_simulator_step_by_step`) replays five hours of the
real NASA trace minute by minute through the live path: a fake clock, the metrics stored as a
pusher would, `run_step` rebuilding the policy from its saved state every minute, and a live
Deployment on the Kubernetes API test server; then through the simulator with the same
scenario. The two must agree on every step's replicas per pool.
"""

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from apps.actuation.models import ApplyStep
from apps.control import rebuild, services
from apps.control.models import ControlDecision, Controller
from apps.plans.models import AuditEvent, PlanStatus, ScalingPlan
from apps.workloads.models import CapacityProfile, DeploymentTarget, MetricObservation
from apps.workloads.world import scenario_for
from policies import make_policy
from policies.envelope import Bounds, Envelope, Enveloped
from policies.scenario import SpotMarket
from simulation.run import replay_context, replay_decisions
from simulation.trace import Load
from tests.actuators.test_aws import weights

NASA = Path(__file__).resolve().parents[3] / "data" / "traces" / "nasa_http_1995-07_1min.csv"
START = datetime(2026, 11, 2, tzinfo=UTC)  # after the fixture's four days of history
MINUTE = timedelta(minutes=1)


def nasa_counts(minutes: int) -> np.ndarray:
    """Requests per minute of the real NASA trace, scaled x1000 so the ranker needs a fleet."""
    rows = NASA.read_text().splitlines()[1 : minutes + 1]
    return np.array([float(row.split(",")[1]) for row in rows]) * 1000


@pytest.fixture
def fresh_workload(online_workload):
    """The plans fixtures' ranker with its history removed: the controller starts from nothing.

    Its replicas serve a request in 10 ms (two at a time), so ballast's 0.2 % late is reachable.
    """
    MetricObservation.objects.filter(workload=online_workload).delete()
    CapacityProfile.objects.filter(variant__workload=online_workload).update(
        max_rps=200, service_time_ms=10
    )
    return online_workload


def push(workload, minute: int, value: float) -> None:
    MetricObservation.objects.create(
        workload=workload, series="requests", ts=START + minute * MINUTE, value=value
    )


def approve_envelope(workload, user, replicas: int, on_demand: int = 0) -> ScalingPlan:
    """An applied plan of `replicas` spot (and `on_demand`) replicas every hour of the day."""
    hour = [{"offer": "c6i.xlarge/spot", "variant": "ranker-small", "count": replicas}]
    if on_demand:
        hour.append(
            {"offer": "c6i.xlarge/on_demand", "variant": "ranker-small", "count": on_demand}
        )
    schedule = [hour] * 24
    return ScalingPlan.objects.create(
        workload=workload,
        status=PlanStatus.APPLIED,
        requested_by=user,
        decided_by=user,
        expires_at=START + timedelta(days=2),
        start_at=START,
        interval_s=3600,
        front=[{"schedule": schedule, "cost_per_day_usd": 1.0, "sla_risk": 0.0}],
        chosen_index=0,
        applied_at=START,
    )


def simulate(
    workload, counts: np.ndarray, bounds: Bounds | None = None
) -> dict[int, tuple[dict, float]]:
    """Per step, the simulator's replicas per pool and serverless share.

    On the same load and world (inside `bounds` every step): the spot market calm, as a
    dry-run target's world is (no wave, shortage or price move).
    """
    rps = counts / 60
    scenario = dataclasses.replace(
        scenario_for(workload, step_s=60, peak_rps=float(rps.max())),
        spot_market=SpotMarket.calm(),
    )
    load = Load("pushed", rps, 0.0, 60, 60, 1.0)
    ctx, _ = replay_context(load, scenario, seed=rebuild.SEED)
    policy = make_policy("ballast_controller", ctx)
    if bounds is not None:
        policy = Enveloped(policy, lambda t: bounds, scenario)
    return dict(enumerate(replay_decisions(policy, ctx)))


def run_live(workload, counts: np.ndarray) -> dict[int, tuple[dict, float]]:
    """Push the counts minute by minute and step the controller after each, as in production."""
    for t in range(1, len(counts)):
        push(workload, t - 1, counts[t - 1])
        report = services.run_step(workload.pk, now=START + t * MINUTE + timedelta(seconds=7))
        assert report.decided == (2 if t == 1 else 1), (t, report)
        assert report.applied, ControlDecision.objects.filter(workload=workload).first()
    return {
        row.step: (
            {(e["instance_type"], e["purchase_option"]): e["replicas"] for e in row.desired},
            row.serverless_share,
        )
        for row in ControlDecision.objects.filter(workload=workload)
    }


def assert_same(live: dict, simulated: dict, minutes: int) -> None:
    assert sorted(live) == list(range(minutes))
    mismatches = [t for t in live if live[t] != simulated[t]]
    assert not mismatches, [(t, live[t], simulated[t]) for t in mismatches[:5]]
    assert len({sum(d.values()) for d, _ in live.values()}) > 1, "the trace must make it move"
    assert len({share for _, share in live.values()}) > 1, "and move its serverless share"


def test_the_live_path_decides_as_the_simulator_step_by_step(fresh_workload, cluster, sre_user):
    minutes = 300
    counts = nasa_counts(minutes)
    cluster.add_deployment("prod", "ranker", replicas=1)
    fresh_workload.targets.update(dry_run=False)
    approve_envelope(fresh_workload, sre_user, replicas=1000)
    services.enable_controller(workload=fresh_workload)

    live = run_live(fresh_workload, counts)

    assert_same(live, simulate(fresh_workload, counts), minutes)
    deployed = cluster.get("deployments", "prod", "ranker")["spec"]["replicas"]
    assert deployed == sum(live[minutes - 1][0].values())


def test_inside_a_tight_envelope_the_live_path_still_decides_as_the_simulator(
    fresh_workload, sre_user
):
    minutes = 120
    counts = nasa_counts(minutes)
    approve_envelope(fresh_workload, sre_user, replicas=8, on_demand=1)
    services.enable_controller(workload=fresh_workload)

    live = run_live(fresh_workload, counts)

    bounds = Bounds(max_replicas=9, min_non_spot=1, options=("on_demand", "spot"))
    assert_same(live, simulate(fresh_workload, counts, bounds), minutes)
    assert live != simulate(fresh_workload, counts), "the envelope must bite"
    assert all(
        sum(d.values()) <= 9 and d.get(("c6i.xlarge", "on_demand"), 0) >= 1
        for d, _ in live.values()
    )


def test_a_step_is_never_decided_twice(fresh_workload):
    services.enable_controller(workload=fresh_workload)
    for minute in range(3):
        push(fresh_workload, minute, 600.0)
    now = START + 3 * MINUTE + timedelta(seconds=5)

    first = services.run_step(fresh_workload.pk, now=now)
    again = services.run_step(fresh_workload.pk, now=now + timedelta(seconds=20))

    assert first.decided == 4 and again.decided == 0
    assert ControlDecision.objects.filter(workload=fresh_workload).count() == 4
    applied = ControlDecision.objects.filter(workload=fresh_workload, applied=True)
    assert list(applied.values_list("step", flat=True)) == [3]


def test_missed_steps_are_caught_up_in_order_and_only_the_newest_applied(fresh_workload):
    services.enable_controller(workload=fresh_workload)
    for minute in range(10):
        push(fresh_workload, minute, 600.0 + 50 * minute)
    services.run_step(fresh_workload.pk, now=START + 2 * MINUTE)

    report = services.run_step(fresh_workload.pk, now=START + 10 * MINUTE)

    assert report.decided == 8  # steps 3..10
    rows = ControlDecision.objects.filter(workload=fresh_workload).order_by("step")
    assert list(rows.values_list("step", flat=True)) == list(range(11))
    assert list(rows.filter(applied=True).values_list("step", flat=True)) == [2, 10]


def test_an_outage_longer_than_a_day_restarts_the_policy_and_says_so(fresh_workload):
    services.enable_controller(workload=fresh_workload)
    push(fresh_workload, 0, 600.0)
    services.run_step(fresh_workload.pk, now=START + MINUTE)
    later = 2 * 1440
    for minute in range(later - 5, later):
        push(fresh_workload, minute, 600.0)

    report = services.run_step(fresh_workload.pk, now=START + later * MINUTE)

    controller = Controller.objects.get(workload=fresh_workload)
    assert report.decided == 1440
    assert controller.origin_at == START + (later - 1439) * MINUTE
    assert AuditEvent.objects.filter(workload_id=fresh_workload.pk, action="control.restarted")


def test_stale_metrics_hold_the_controller_and_the_hold_is_audited_once(fresh_workload):
    services.enable_controller(workload=fresh_workload)
    push(fresh_workload, 0, 600.0)
    services.run_step(fresh_workload.pk, now=START + MINUTE)

    for seconds in (600, 660):
        report = services.run_step(fresh_workload.pk, now=START + timedelta(seconds=seconds))
        assert "metrics are stale" in report.held

    assert (
        AuditEvent.objects.filter(workload_id=fresh_workload.pk, action="control.held").count() == 1
    )


def test_a_live_target_without_an_approved_envelope_is_left_alone(fresh_workload):
    fresh_workload.targets.update(dry_run=False)
    services.enable_controller(workload=fresh_workload)
    push(fresh_workload, 0, 6000.0)

    report = services.run_step(fresh_workload.pk, now=START + MINUTE)

    decision = ControlDecision.objects.get(workload=fresh_workload, step=1)
    assert not report.applied and not decision.applied
    assert "no applied plan covers now" in decision.outcome


def test_above_the_approved_envelope_the_controller_clamps_and_asks_for_a_plan(
    fresh_workload, cluster, sre_user, ci_a, django_capture_on_commit_callbacks
):
    from apps.plans.models import PlanSchedule

    cluster.add_deployment("prod", "ranker", replicas=1)
    fresh_workload.targets.update(dry_run=False)
    approve_envelope(fresh_workload, sre_user, replicas=2)
    schedule_owner = fresh_workload.team.memberships.get(role="ci").user
    PlanSchedule.objects.create(
        workload=fresh_workload, every_minutes=60, requested_by=schedule_owner
    )
    services.enable_controller(workload=fresh_workload)
    push(fresh_workload, 0, 600000.0)

    with django_capture_on_commit_callbacks():
        services.run_step(fresh_workload.pk, now=START + MINUTE)

    decision = ControlDecision.objects.get(workload=fresh_workload, step=1)
    assert decision.replicas == 2 and decision.applied and decision.wanted > 2
    assert "2 approved for the hour" in decision.outcome
    event = AuditEvent.objects.get(workload_id=fresh_workload.pk, action="control.needs_plan")
    assert "requested" in event.reason
    assert ScalingPlan.objects.filter(workload=fresh_workload, status="draft").count() == 1
    assert cluster.get("deployments", "prod", "ranker")["spec"]["replicas"] == 2


def test_the_envelopes_spend_ceiling_holds_at_todays_prices_and_asks_for_a_plan(
    fresh_workload, sre_user
):
    plan = approve_envelope(fresh_workload, sre_user, replicas=50)
    spot = scenario_for(fresh_workload, step_s=60, peak_rps=1.0).instance("c6i.xlarge")
    price = spot.price_per_hour_usd("spot")
    hours = [Bounds(max_replicas=50, options=("spot",), max_usd_per_hour=3 * price)] * 24
    plan.front[0]["envelope"] = Envelope("ranker-small", tuple(hours)).to_json()
    plan.save(update_fields=["front"])
    services.enable_controller(workload=fresh_workload)
    push(fresh_workload, 0, 600000.0)

    services.run_step(fresh_workload.pk, now=START + MINUTE)

    decision = ControlDecision.objects.get(workload=fresh_workload, step=1)
    assert decision.replicas == 3 and decision.wanted > 3
    assert f"${3 * price:.2f}/h approved" in decision.outcome
    assert AuditEvent.objects.filter(workload_id=fresh_workload.pk, action="control.needs_plan")


def test_dry_run_targets_follow_the_decisions(fresh_workload):
    DeploymentTarget.objects.filter(workload=fresh_workload).update(dry_run=True)
    services.enable_controller(workload=fresh_workload)
    push(fresh_workload, 0, 6000.0)

    services.run_step(fresh_workload.pk, now=START + MINUTE)

    from apps.actuation.registry import recorded_state

    decision = ControlDecision.objects.get(workload=fresh_workload, step=1)
    target = fresh_workload.targets.get()
    assert decision.applied and recorded_state(target) == {"replicas": decision.replicas}


def test_only_deployable_policies_and_online_workloads_get_a_controller(fresh_workload):
    with pytest.raises(ValueError, match="policy: 'oracle' is not deployable"):
        services.enable_controller(workload=fresh_workload, policy="oracle")
    fresh_workload.kind = "batch"
    with pytest.raises(ValueError, match="online workloads only"):
        services.enable_controller(workload=fresh_workload)


def test_the_api_shows_a_teams_decisions_and_hides_other_teams(fresh_workload, viewer_a, sre_b):
    services.enable_controller(workload=fresh_workload)
    push(fresh_workload, 0, 6000.0)
    services.run_step(fresh_workload.pk, now=START + MINUTE)

    mine = viewer_a.get(f"/api/v1/control-decisions/?workload={fresh_workload.pk}")
    theirs = sre_b.get("/api/v1/control-decisions/")
    controllers = viewer_a.get("/api/v1/controllers/")

    assert mine.status_code == 200 and mine.data["count"] == 2
    assert mine.data["results"][0]["step"] == 1 and mine.data["results"][0]["applied"]
    assert theirs.status_code == 200 and theirs.data["count"] == 0
    assert controllers.data["results"][0]["policy"] == "ballast_controller"
    assert viewer_a.post("/api/v1/control-decisions/", {}).status_code == 405


def test_old_decisions_are_pruned_but_a_targets_newest_state_stays(fresh_workload):
    from apps.actuation.registry import recorded_state

    services.enable_controller(workload=fresh_workload)
    for minute in range(3):
        push(fresh_workload, minute, 6000.0 * (minute + 1))
        services.run_step(fresh_workload.pk, now=START + (minute + 1) * MINUTE)
    target = fresh_workload.targets.get()
    before = recorded_state(target)

    decisions, _ = services.prune_history(keep_days=14, now=START + timedelta(days=15))

    assert decisions == 4 and not ControlDecision.objects.filter(workload=fresh_workload).exists()
    assert recorded_state(target) == before and before["replicas"] > 0


def test_pools_are_real_objects_one_deployment_per_capacity_type(fresh_workload, cluster, sre_user):
    spot = {"karpenter.sh/capacity-type": "spot"}
    on_demand = {"karpenter.sh/capacity-type": "on-demand"}
    cluster.add_deployment("prod", "ranker-spot", replicas=1, node_selector=spot)
    cluster.add_deployment("prod", "ranker-od", replicas=2, node_selector=on_demand)
    fresh_workload.targets.all().delete()
    for name, pool in (("ranker-spot", "spot"), ("ranker-od", "on_demand")):
        DeploymentTarget.objects.create(
            workload=fresh_workload,
            kind="k8s_deployment",
            reference=f"prod/{name}",
            dry_run=False,
            pool=pool,
        )
    approve_envelope(fresh_workload, sre_user, replicas=1000)
    services.enable_controller(workload=fresh_workload)
    push(fresh_workload, 0, 60000.0)

    services.run_step(fresh_workload.pk, now=START + MINUTE)

    decision = ControlDecision.objects.get(workload=fresh_workload, step=1)
    by_option = {e["purchase_option"]: e["replicas"] for e in decision.desired}
    assert decision.applied, decision.outcome
    assert cluster.get("deployments", "prod", "ranker-spot")["spec"]["replicas"] == by_option.get(
        "spot", 0
    )
    assert cluster.get("deployments", "prod", "ranker-od")["spec"]["replicas"] == by_option.get(
        "on_demand", 0
    )
    assert by_option.get("spot", 0) > 0


def test_the_serverless_share_is_set_on_a_real_alb_listener_every_step(
    fresh_workload, alb, aws_connected, sre_user
):
    """The share the simulator routes is the weight the controller writes, through elbv2."""
    fresh_workload.targets.all().delete()
    DeploymentTarget.objects.create(
        workload=fresh_workload, kind="aws_alb_route", reference=alb["listener"], dry_run=False
    )
    approve_envelope(fresh_workload, sre_user, replicas=1000)
    services.enable_controller(workload=fresh_workload)
    minutes = 40
    counts = nasa_counts(minutes)

    live = run_live(fresh_workload, counts)

    assert live == simulate(fresh_workload, counts)
    shares = [share for _, share in live.values()]
    assert max(shares) > 0 and len(set(shares)) > 1
    newest = ControlDecision.objects.get(workload=fresh_workload, step=minutes - 1)
    assert weights(alb, alb["listener"]) == {
        alb["vms"]: 100 - round(100 * newest.serverless_share),
        alb["fn"]: round(100 * newest.serverless_share),
    }
    applied = [share for step, (_, share) in sorted(live.items()) if step >= 1]  # step 0 caught up
    changes = sum(a != b for a, b in zip([0.0, *applied], applied, strict=False))
    moved = ApplyStep.objects.filter(setting="serverless_weight", status=ApplyStep.Status.APPLIED)
    assert moved.count() == changes > 1  # one elbv2 write per change of the weight


def test_a_pool_deployment_not_pinned_to_its_capacity_type_is_refused(
    fresh_workload, cluster, sre_user
):
    cluster.add_deployment("prod", "ranker", replicas=1)  # no node selector
    DeploymentTarget.objects.filter(workload=fresh_workload).update(dry_run=False, pool="spot")
    approve_envelope(fresh_workload, sre_user, replicas=1000)
    services.enable_controller(workload=fresh_workload)
    push(fresh_workload, 0, 60000.0)

    services.run_step(fresh_workload.pk, now=START + MINUTE)

    decision = ControlDecision.objects.get(workload=fresh_workload, step=1)
    assert not decision.applied
    assert "pinned to capacity type none" in decision.outcome
    assert "nodeSelector karpenter.sh/capacity-type: spot" in decision.outcome
    assert cluster.get("deployments", "prod", "ranker")["spec"]["replicas"] == 1


def test_the_controller_serves_the_variant_the_applied_plan_runs(fresh_workload, sre_user):
    from apps.catalog.models import InstanceType
    from apps.workloads.models import ModelVariant

    alt = ModelVariant.objects.create(
        workload=fresh_workload, name="ranker-alt", accuracy=0.95, memory_mb=2048
    )
    CapacityProfile.objects.create(
        variant=alt,
        instance_type=InstanceType.objects.get(name="c5.xlarge"),
        max_rps=200,
        service_time_ms=10,
    )
    cheapest = scenario_for(fresh_workload, step_s=60, peak_rps=1000.0)
    assert cheapest.default_variant == "ranker-small"  # left alone, the world picks this one
    plan = approve_envelope(fresh_workload, sre_user, replicas=1000)
    for row in plan.front[0]["schedule"]:
        row[0].update(offer="c5.xlarge/spot", variant="ranker-alt")
    plan.save()
    services.enable_controller(workload=fresh_workload)
    push(fresh_workload, 0, 60000.0)

    services.run_step(fresh_workload.pk, now=START + MINUTE)

    decision = ControlDecision.objects.get(workload=fresh_workload, step=1)
    assert {e["instance_type"] for e in decision.desired} == {"c5.xlarge"}
    assert decision.replicas > 0


def test_starting_and_pausing_a_controller_are_audited_with_who_did_it(
    fresh_workload, django_user_model
):
    operator = django_user_model.objects.create_user("operator")
    controller = services.enable_controller(workload=fresh_workload, by=operator)
    services.pause_controller(controller=controller, by=operator)

    events = AuditEvent.objects.filter(workload_id=fresh_workload.pk).order_by("at", "pk")
    assert [(e.action, e.actor) for e in events] == [
        ("control.enabled", "operator"),
        ("control.paused", "operator"),
    ]
    assert not Controller.objects.get(pk=controller.pk).enabled
    assert "disabled" in services.run_step(fresh_workload.pk, now=START).held
