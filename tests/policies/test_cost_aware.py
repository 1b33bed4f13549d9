"""cost_aware sizes by Algorithm 1's objective: w1 compute + w2 SLA - w3 utilization."""

import numpy as np
import pytest

from policies.cost_aware import CostAware, Weights
from tests.simulation.conftest import make_context

BAND = (0.25, 0.6)  # the adaptive thresholds of a volatile load (cv >= 0.25)


@pytest.fixture
def ctx(scenario):
    return make_context(scenario, np.full(120, 1000.0))


@pytest.mark.parametrize("demand_rps", [100.0, 300.0, 1000.0, 1310.0, 3000.0])
@pytest.mark.parametrize(
    "weights",
    [Weights(), Weights(utilization=2.0), Weights(sla=5.0, compute=0.2), Weights(utilization=0.0)],
    ids=["default", "w3=2", "w2=5,w1=0.2", "w3=0"],
)
def test_the_choice_minimises_the_weighted_objective(ctx, demand_rps, weights):
    p = CostAware(ctx, weights)
    chosen = p.choose(demand_rps, 0, BAND)
    high = int(np.ceil(demand_rps / (p.profile.capacity_rps * BAND[0]) - 1e-9))
    candidates = np.arange(1, max(high, 1) + 1)
    compute, sla, utilization = p.terms(demand_rps, candidates, 0)
    objective = weights.compute * compute + weights.sla * sla - weights.utilization * utilization
    assert chosen == candidates[np.argmin(objective)]


def test_a_heavier_utilization_weight_trades_sla_for_fewer_replicas(ctx):
    # 300 rps: one replica runs at 90 % and spends part of the SLA; two run at 45 %
    assert CostAware(ctx).choose(300.0, 0, BAND) == 2
    assert CostAware(ctx, Weights(utilization=2.0)).choose(300.0, 0, BAND) == 1


def test_a_heavier_sla_weight_buys_the_replica_back(ctx):
    assert CostAware(ctx, Weights(utilization=2.0, sla=10.0)).choose(300.0, 0, BAND) == 2


def test_without_compute_or_utilization_weights_it_buys_up_to_the_band(ctx):
    default = CostAware(ctx).choose(1000.0, 0, BAND)
    assert CostAware(ctx, Weights(compute=0.0, utilization=0.0)).choose(1000.0, 0, BAND) > default


def test_terms_are_normalised_and_reserved_replicas_cost_less(ctx):
    p = CostAware(ctx)
    n = np.arange(1, 9)
    compute, sla, utilization = p.terms(1000.0, n, 0)
    assert compute.max() == pytest.approx(1.0) and np.all(np.diff(compute) > 0)
    assert sla[:3].tolist() == [1.0, 1.0, 1.0]  # 1000 rps on 3 x 333 rps: saturated
    assert 0 < sla[3] < 0.05  # four replicas at 75 %: within the SLA
    assert utilization.tolist() == pytest.approx(
        np.minimum(1000.0 / (n * p.profile.capacity_rps), 1)
    )
    with_reserved, _, _ = p.terms(1000.0, n, 2)
    reserved_usd = p.itype.price_per_hour_usd("reserved")
    on_demand_usd = p.itype.price_per_hour_usd("on_demand")
    assert with_reserved[1] == pytest.approx(
        2 * reserved_usd / (2 * reserved_usd + 6 * on_demand_usd)
    )
