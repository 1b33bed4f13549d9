"""Spot insurance on plans: the library's figures, the floor in the envelope, the API, the page."""

import pytest

from apps.catalog.models import InstanceType, ServerlessOffer
from apps.plans.models import Guardrail, ScalingPlan
from apps.workloads.models import CapacityProfile
from apps.workloads.world import scenario_for
from policies.insurance import (
    SAFE_SPOT_HAZARD_PER_HOUR,
    floor_replicas,
    insurance_usd_per_day,
    spill_capacity_rps,
    spread_for,
)
from policies.serverless import size_memory


def request_and_build(client, workload, build) -> ScalingPlan:
    response = client.post("/api/v1/plans/", {"workload": workload.pk}, format="json")
    assert response.status_code == 202, response.data
    build(response.data["id"])
    plan = ScalingPlan.objects.get(pk=response.data["id"])
    assert plan.status == "proposed", plan.message
    return plan


def library_insurance(plan: ScalingPlan, index: int) -> tuple[dict, list[int]]:
    """What `policies.insurance` says for candidate `index` of `plan`, computed here."""
    candidate = plan.candidates()[index]
    variant = candidate.envelope.variant
    demand = plan.allocation_problem().demand
    loads = [float(v) for v in demand.rps_at(candidate.demand_quantile)]
    world = scenario_for(plan.workload, step_s=60, peak_rps=max(loads)).serving(variant)
    spread = spread_for(world, variant, SAFE_SPOT_HAZARD_PER_HOUR)
    memory_mb = size_memory(world.variant(variant), world.serverless, world.latency_target_ms)
    spill_rps = spill_capacity_rps(world, variant, memory_mb)
    floors = [floor_replicas(spread, load, spill_rps) for load in loads]
    return insurance_usd_per_day(spread, loads, spill_rps), floors


@pytest.fixture
def two_pools(online_workload):
    """The ranker also runs on c5.xlarge, whose spot is as cheap per request as c6i's."""
    CapacityProfile.objects.create(
        variant=online_workload.variants.get(),
        instance_type=InstanceType.objects.get(name="c5.xlarge"),
        max_rps=40,
        service_time_ms=20,
    )
    return online_workload


@pytest.fixture
def tiny_concurrency(online_workload):
    """A lost pool the floor must carry: replacements boot after the notice runs out.

    The types boot as GPU types do (240 s, past the 2-minute notice), and functions may run
    one request at a time, so they cannot take the pool's load meanwhile.
    """
    InstanceType.objects.update(gpu_count=1, gpu_model="NVIDIA T4")
    ServerlessOffer.objects.update(max_concurrency=1)
    return online_workload


def test_every_candidate_is_insured_as_the_library_computes_it(
    ci_a, two_pools, stored_forecast, build
):
    plan = request_and_build(ci_a, two_pools, build)

    assert len(plan.insurance) == len(plan.front) >= 2
    for index, insurance in enumerate(plan.insurance):
        if not insurance["pools"]:
            assert "spot" not in plan.candidates()[index].envelope.hours[0].options
            continue
        cost, floors = library_insurance(plan, index)
        assert insurance["total_usd_per_day"] == cost["total_usd"]
        assert insurance["spread_usd_per_day"] == cost["spread_usd"]
        assert insurance["floor_usd_per_day"] == cost["floor_usd"]
        assert insurance["floor_replicas"] == floors
        assert insurance["floor_replicas_max"] == cost["floor_max"] == max(floors)
    chosen = plan.chosen_insurance
    assert chosen == plan.insurance[plan.chosen_index]
    assert chosen["pools"] == ["c6i.xlarge/spot", "c5.xlarge/spot"]  # cheapest per rps first
    assert chosen["largest_pool_share"] == 0.5
    assert chosen["total_usd_per_day"] > 0  # spreading costs something over c6i alone


def test_functions_that_cannot_absorb_the_largest_pool_get_a_floor_in_the_envelope(
    ci_a, tiny_concurrency, stored_forecast, build
):
    plan = request_and_build(ci_a, tiny_concurrency, build)

    insurance = plan.chosen_insurance
    assert insurance["floor_replicas_max"] > 0
    assert insurance["floor_usd_per_day"] > 0
    _, floors = library_insurance(plan, plan.chosen_index)
    assert insurance["floor_replicas"] == floors
    for floor, bounds in zip(floors, plan.envelope_hours(), strict=True):
        assert bounds.min_non_spot >= floor
        assert bounds.max_replicas >= bounds.min_non_spot
        assert floor == 0 or "on_demand" in bounds.options
    # The floor is what the candidates were replayed inside.
    assert all(c.measured is not None for c in plan.candidates())


def test_the_larger_of_the_guardrails_base_and_the_floor_wins_each_interval(
    ci_a, tiny_concurrency, stored_forecast, build
):
    Guardrail.objects.create(workload=tiny_concurrency, min_non_spot_replicas=2)
    plan = request_and_build(ci_a, tiny_concurrency, build)

    floors = plan.chosen_insurance["floor_replicas"]
    assert max(floors) > 2 > min(floors)  # the floor wins by day, the base by night
    for floor, bounds in zip(floors, plan.envelope_hours(), strict=True):
        assert bounds.min_non_spot >= max(2, floor)


def test_spot_only_guardrails_buy_no_floor_and_say_what_is_uncovered(
    ci_a, tiny_concurrency, stored_forecast, build
):
    Guardrail.objects.create(workload=tiny_concurrency, allowed_purchase_options=["spot"])
    plan = request_and_build(ci_a, tiny_concurrency, build)

    insurance = plan.chosen_insurance
    assert insurance["floor_replicas_max"] == insurance["floor_usd_per_day"] == 0
    assert insurance["uncovered_replicas_max"] > 0
    assert "allow no on-demand" in insurance["note"]
    assert all(bounds.min_non_spot == 0 for bounds in plan.envelope_hours())
    assert all(bounds.options == ("spot",) for bounds in plan.envelope_hours())


def test_the_api_shows_the_chosen_and_every_candidates_insurance(proposed, ci_a):
    detail = ci_a.get(f"/api/v1/plans/{proposed.pk}/").data
    insurance = detail["insurance"]
    assert insurance == proposed.insurance[proposed.chosen_index]
    assert {
        "spread_usd_per_day",
        "floor_usd_per_day",
        "total_usd_per_day",
        "floor_replicas_max",
        "largest_pool_share",
        "pools",
    } <= set(insurance)
    assert insurance["pools"] == ["c6i.xlarge/spot"]
    assert insurance["largest_pool_share"] == 1.0  # one pool: a wave may take all of it
    assert detail["front_insurance"] == proposed.insurance
    (listed,) = ci_a.get("/api/v1/plans/", {"workload": proposed.workload_id}).data["results"]
    assert listed["insurance"] == insurance and "front_insurance" not in listed


def test_a_plan_built_before_insurance_shows_none(proposed, ci_a):
    ScalingPlan.objects.filter(pk=proposed.pk).update(insurance=[])
    assert ci_a.get(f"/api/v1/plans/{proposed.pk}/").data["insurance"] is None


def test_the_plan_page_says_what_the_insurance_costs(
    ci_a, two_pools, stored_forecast, build, sre_a, django_user_model
):
    from django.test import Client

    plan = request_and_build(ci_a, two_pools, build)
    client = Client()
    client.force_login(django_user_model.objects.get(username="sre-a"))

    page = client.get(f"/plans/{plan.pk}/").content.decode()

    insurance = plan.chosen_insurance
    assert 'id="spot-insurance"' in page
    assert (
        f"Spot insurance: ${insurance['total_usd_per_day']:.2f}/day</strong> (spread over 2 pools, "
        f"largest ≤ 50 %; non-spot floor up to {insurance['floor_replicas_max']} replica"
    ) in page
