"""A workload's capacity and modelled latency: plain data in and out, and read from its plans."""

import numpy as np

from apps.plans.models import ScalingPlan
from apps.simulations import latency
from apps.workloads.models import SLA
from apps.workloads.world import requests_history
from forecasting.history import RegularSeries

# Two hours: 2 servers at 50/s each, then 4 (100 and 200 requests/s of capacity).
CAPACITY = latency.Capacity(
    start_s=0.0,
    interval_s=3600,
    capacity_rps=np.array([100.0, 200.0]),
    servers=np.array([2.0, 4.0]),
    mu=np.array([50.0, 50.0]),
)


def history(rps: list[float], interval_s: int = 1800) -> RegularSeries:
    return RegularSeries(np.array(rps) * interval_s, 0, interval_s, 0)


def test_capacity_holds_its_first_interval_before_the_plan_and_its_last_after():
    rps, servers, mu = latency.capacity_at(CAPACITY, np.array([-60.0, 0.0, 3600.0, 99_999.0]))
    assert rps.tolist() == [100.0, 100.0, 200.0, 200.0] and servers.tolist() == [2, 2, 4, 4]
    assert mu.tolist() == [50.0] * 4


def test_latency_is_mmc_below_saturation_the_timeout_at_it_and_unknown_without_servers():
    ms = latency.modelled_latency_ms(
        np.array([10.0, 99.0, 100.0, 10.0]),
        np.array([2.0, 2.0, 2.0, 0.0]),
        np.array([50.0, 50.0, 50.0, 0.0]),
        percentile=99,
        timeout_s=30,
    )
    assert 20 < ms[0] < ms[1] < 30_000  # p99 of an exponential service of 20 ms is ~92 ms
    assert ms[2] == 30_000 and np.isnan(ms[3])


def test_observed_traffic_is_drawn_against_the_capacity_applied_while_it_ran():
    model = latency.modelled_traffic(
        history([10.0, 10.0, 150.0, 150.0, 150.0]),
        forecast=None,
        applied=[latency.InForce(0.0, 7200.0, CAPACITY)],
        planned=latency.Planned(7, "proposed", CAPACITY),  # no forecast: not drawn
        percentile=99.0,
        timeout_s=30.0,
        target_ms=100.0,
    )
    assert model.history_s.tolist() == [0, 1800, 3600, 5400, 7200]
    assert model.history_rps.tolist() == [10.0, 10.0, 150.0, 150.0, 150.0]
    [line] = model.capacity
    assert line["label"] == "provisioned (applied plans)"
    np.testing.assert_array_equal(line["capacity_rps"], [100, 100, 200, 200, np.nan])
    [(label, (epoch_s, ms))] = model.latency.items()
    assert label == "observed traffic, applied capacity" and epoch_s is model.history_s
    assert ms[0] == ms[1] < ms[2] < 30_000 and np.isnan(ms[4])  # past the plan: unknown
    assert (model.percentile, model.target_ms, model.forecast) == (99.0, 100.0, None)


def test_the_forecast_median_is_drawn_against_the_planned_capacity():
    forecast = {
        "epoch_s": np.array([0.0, 3600.0]),
        "mean": np.array([50.0, 120.0]),
        "quantiles": {0.5: np.array([40.0, 250.0])},
    }
    model = latency.modelled_traffic(
        history([10.0]),
        forecast=forecast,
        applied=[],
        planned=latency.Planned(7, "proposed", CAPACITY),
        percentile=95.0,
        timeout_s=30.0,
    )
    [line] = model.capacity
    assert line["label"] == "planned (plan 7, proposed)"
    assert line["capacity_rps"].tolist() == [100.0, 200.0]
    ms = model.latency["forecast p50, plan 7"][1]
    assert ms[0] < 1000 and ms[1] == 30_000  # the median over capacity saturates
    assert model.forecast["mean"] is forecast["mean"]


def test_a_workloads_traffic_reads_its_applied_plan_and_newest_forecast(proposed):
    ScalingPlan.objects.filter(pk=proposed.pk).update(
        status="applied", applied_at=proposed.start_at
    )
    plan = ScalingPlan.objects.get(pk=proposed.pk)
    workload, forecast = plan.workload, plan.workload.forecasts.get()
    sla = SLA.objects.get(workload=workload)
    model = latency.workload_traffic(workload, requests_history(workload.pk), forecast, sla)
    labels = [line["label"] for line in model.capacity]
    assert labels[-1] == f"planned (plan {plan.pk}, applied)"
    assert set(model.latency) >= {f"forecast p50, plan {plan.pk}"}
    assert model.percentile == sla.latency_percentile and model.target_ms == sla.latency_target_ms
    assert len(model.forecast["mean"]) == forecast.horizon
    capacity = latency.plan_capacity(plan)
    assert len(capacity.capacity_rps) == len(plan.front[plan.chosen_index]["schedule"])
    assert capacity.capacity_rps.max() > 0 and capacity.servers.max() >= 1


def test_a_plan_without_a_chosen_candidate_has_no_capacity(proposed):
    ScalingPlan.objects.filter(pk=proposed.pk).update(chosen_index=None)
    assert latency.plan_capacity(ScalingPlan.objects.get(pk=proposed.pk)) is None
