import numpy as np
import pytest

from policies.scenario import InstanceType
from simulation.cluster import BillingRules, Cluster

VM = InstanceType("vm", 3.6, 1.8, 2.4, 0.0, boot_s=60.0)
RISKY = InstanceType("risky", 3.6, 1.8, 2.4, 1e9, boot_s=60.0)


def cluster(step_s=60, n_steps=60, types=(VM,)):
    rules = BillingRules(step_s=step_s, min_billed_s=60.0, spot_notice_s=120.0)
    return Cluster({t.name: t for t in types}, rules, n_steps, np.random.default_rng(0))


def test_replica_terminated_after_20_s_is_billed_the_60_s_minimum():
    c = cluster(step_s=10)
    c.begin_step(0)
    c.reconcile(0, {("vm", "on_demand"): 1})
    c.bill_step()
    c.begin_step(1)
    c.bill_step()
    c.begin_step(2)
    c.reconcile(2, {("vm", "on_demand"): 0})
    assert c.cost_by_option["on_demand"] == pytest.approx(3.6 * 60 / 3600)


def test_replica_kept_two_minutes_is_billed_per_second():
    c = cluster()
    for t in range(2):
        c.begin_step(t)
        c.reconcile(t, {("vm", "on_demand"): 1})
        c.bill_step()
    c.begin_step(2)
    c.reconcile(2, {("vm", "on_demand"): 0})
    assert c.cost_by_option["on_demand"] == pytest.approx(3.6 * 120 / 3600)


def test_reserved_is_billed_for_the_whole_horizon_even_when_idle():
    c = cluster(n_steps=120)  # two hours
    c.commit_reserved(0, "vm", 2)
    for t in range(120):
        c.begin_step(t)
        c.bill_step()
    c.finish()
    assert c.cost_by_option["reserved"] == pytest.approx(2 * 2.4 * 2)
    assert c.ready_by_type(5)["vm"] == 2


def test_new_replica_serves_after_its_boot_delay():
    c = cluster()
    c.begin_step(0)
    c.reconcile(0, {("vm", "on_demand"): 3})
    assert c.ready_by_type(0).get("vm", 0) == 0
    assert c.ready_by_type(1)["vm"] == 3


def test_spot_interruption_gives_two_minutes_notice_and_is_replaced():
    c = cluster(types=(RISKY,))
    c.begin_step(0)
    c.reconcile(0, {("risky", "spot"): 1}, warm=True)
    c.begin_step(1)  # certain interruption at this hazard
    assert c.interruptions == 1
    assert c.counts(1)[("risky", "spot")] == (0, 0)
    assert c.ready_by_type(1)["risky"] == 1  # still serving under notice
    c.reconcile(1, {("risky", "spot"): 1})  # the group replaces it at the notice
    assert c.ready_by_type(2)["risky"] == 2  # replacement ready inside the notice
    c.doomed.clear()  # keep the replacement from being drawn again: check the notice length
    c2 = cluster(types=(RISKY,))
    c2.begin_step(0)
    c2.reconcile(0, {("risky", "spot"): 1}, warm=True)
    c2.begin_step(1)
    end_step = c2.doomed[("risky", "spot")][0][0]
    assert (end_step - 1) * 60 == 120


def test_pending_replicas_are_terminated_before_ready_ones():
    c = cluster()
    c.begin_step(0)
    c.reconcile(0, {("vm", "on_demand"): 2}, warm=True)
    c.begin_step(1)
    c.reconcile(1, {("vm", "on_demand"): 4})
    c.reconcile(1, {("vm", "on_demand"): 2})
    assert c.counts(1)[("vm", "on_demand")] == (2, 0)
