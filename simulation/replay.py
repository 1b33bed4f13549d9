"""The replay loop: one policy over one load, step by step, recording what the metrics need."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from policies.base import Context, Observation, Policy
from policies.live import history_for
from policies.routing import Router
from simulation.cluster import BillingRules, Cluster, Market

# Told the fraction of a replay done, 0 to 1, every PROGRESS_EVERY_STEPS steps.
Progress = Callable[[float], None]
PROGRESS_EVERY_STEPS = 240  # four hours of minute steps: a fortnight's replay reports 84 times


@dataclass(frozen=True)
class ReplayRecord:
    """What happened, per step t and queue unit u (one pooled queue, or one per type).

    Attributes:
        arrivals: online requests per step, (T,).
        vm_served: requests the VMs served per step, (T,).
        vm_capacity: requests the ready VMs could serve per step, (T,).
        ready: ready replicas per online type, (T, G).
        servers, mu, lam: M/M/c parameters of each unit's queue (per replica under round robin
            and capacity weighting), (T, U); lam is arrivals/s to one such queue.
        fresh: requests served without meeting a backlog, weighted by the M/M/c tail, (T, U).
        late, late_wait_s: requests served behind a backlog or in overload, and their wait.
        dropped: requests dropped after the queue timeout (or with no replica at all), (T, U).
        serverless_rps: requests per second sent to serverless functions, (T,).
        serverless_share: the share of each step's requests routed to functions, set at the
            step's start (`policies.routing`), (T,).
        cost_by_option: VM bill per purchase option.
        interruptions: spot interruption notices received.
        waves: pool-wide reclaim waves that struck the policy's replicas.
        stress_steps: the steps the stress scenario's wave struck them (`SpotMarket.stress`).
        peak_steps: the step of each day's peak load, where the stress strikes (`daily_peaks`).
        launch_failures: replicas asked for in a pool short of capacity, per step asked.
        scaling_actions: changes of a pool's desired count plus reserved commitments.
    """

    arrivals: np.ndarray
    vm_served: np.ndarray
    vm_capacity: np.ndarray
    ready: np.ndarray
    servers: np.ndarray
    mu: np.ndarray
    lam: np.ndarray
    fresh: np.ndarray
    late: np.ndarray
    late_wait_s: np.ndarray
    dropped: np.ndarray
    serverless_rps: np.ndarray
    serverless_share: np.ndarray
    cost_by_option: dict[str, float]
    interruptions: int
    waves: int
    stress_steps: tuple[int, ...]
    peak_steps: tuple[int, ...]
    launch_failures: int
    scaling_actions: int


def policy_rng(seed: int, name: str) -> np.random.Generator:
    """The random stream of one policy's replay: same seed and name, same draws."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def daily_peaks(rps: np.ndarray, step_s: int) -> frozenset[int]:
    """The step of each day's highest load (whole days from the start, and the part-day left)."""
    day = max(1, 86400 // step_s)
    return frozenset(
        start + int(np.argmax(rps[start : start + day])) for start in range(0, len(rps), day)
    )


def world_market(ctx: Context, n_steps: int, peaks: frozenset[int]) -> Market:
    """The spot market of this seed: the same waves, shortages and prices for every policy.

    `peaks` are the steps of each day's peak load, where the stress strikes (`daily_peaks`).
    """
    sc = ctx.scenario
    types = {t.name: t for t in sc.instance_types}
    rng = np.random.default_rng([ctx.seed, zlib.crc32(b"spot market")])
    return Market(types, sc.spot_market, ctx.step_s, n_steps, rng, peaks)


def replay(policy: Policy, ctx: Context, progress: Progress | None = None) -> ReplayRecord:
    """Run `policy` over the whole load (`ctx.future_rps`) and record every step.

    `progress`, when given, is told the fraction of the steps replayed as the replay goes.
    """
    sc = ctx.scenario
    rps, step_s = ctx.clairvoyant_rps(), ctx.step_s
    T = len(rps)
    variant = sc.variant(policy.variant)
    profiles = [variant.profile(name) for name in sc.online_types]
    workers = np.array([p.workers for p in profiles])
    mu_g = np.array([1000.0 / p.service_ms for p in profiles])
    cap_rep = workers * mu_g
    pooled = sc.load_balancer == "least_connections"
    G, U = len(profiles), 1 if pooled else len(profiles)
    rules = BillingRules(
        step_s, sc.min_billed_s, sc.spot_notice_s, 0.0 if policy.zero_boot else None
    )
    types = {t.name: t for t in sc.instance_types}
    peaks = daily_peaks(rps, step_s)
    market = world_market(ctx, T, peaks)
    cluster = Cluster(types, rules, T, policy_rng(ctx.seed, policy.name), market)
    router = Router(sc, policy.variant, step_s, policy.zero_boot) if policy.spills else None
    shares = np.zeros(T)
    clairvoyant = getattr(policy, "routes_on_the_draw", False)  # the oracle's perfect overflow
    rec = {k: np.zeros((T, U)) for k in ("servers", "mu", "lam", "fresh", "late", "wait", "drop")}
    ready_log = np.zeros((T, G), dtype=np.int64)
    vm_served, vm_capacity, to_serverless = np.zeros(T), np.zeros(T), np.zeros(T)
    backlog = np.zeros(U)
    last = {"served": rps[0], "capacity": 0.0, "util": 1.0}
    for t in range(T):
        if progress is not None and t % PROGRESS_EVERY_STEPS == 0:
            progress(t / T)
        cluster.begin_step(t)
        history = history_for(t, rps, 0)
        obs = Observation(
            t=t,
            step_s=step_s,
            history_rps=history,
            demand_rps=float(history[-1]),
            served_rps=last["served"],
            capacity_rps=last["capacity"],
            utilization=last["util"],
            backlog=float(backlog.sum()),
            counts=cluster.counts(t),
            reserved={name: cluster.reserved_count(name) for name in sc.online_types},
        )
        decision = policy.decide(obs)
        for name, count in decision.reserve.items():
            cluster.commit_reserved(t, name, count)
        cluster.reconcile(t, decision.desired, warm=t == 0)
        cluster.bill_step(t)
        ready_map = cluster.ready_by_type(t)
        if router is not None:  # weights from what the cloud reports serving, as deployed
            known = float(rps[t]) if clairvoyant else None
            shares[t] = router.share(history, decision.desired, obs.reserved, known, ready_map)
        n_g = np.array([ready_map.get(name, 0) for name in sc.online_types])
        ready_log[t] = n_g
        cap_g = n_g * cap_rep
        cap = float(cap_g.sum())
        lam = float(rps[t])
        vm_rate = lam * (1 - shares[t])
        to_serverless[t] = lam * shares[t]
        if pooled:
            c_pool = max(1, int((n_g * workers).sum()))
            units = [(vm_rate, cap, c_pool, cap / c_pool, 1)]
        else:
            weights = n_g if sc.load_balancer == "round_robin" else cap_g
            share = weights / weights.sum() if weights.sum() else np.zeros(G)
            units = [
                (vm_rate * share[g], cap_g[g], int(workers[g]), float(mu_g[g]), max(1, n_g[g]))
                for g in range(G)
            ]
        served_total = 0.0
        for u, (rate_u, cap_u, servers_u, mu_u, copies) in enumerate(units):
            arrivals, capacity, b = rate_u * step_s, cap_u * step_s, backlog[u]
            rec["servers"][t, u], rec["mu"][t, u], rec["lam"][t, u] = (
                servers_u,
                mu_u,
                rate_u / copies,
            )
            if cap_u <= 0:
                rec["drop"][t, u] = arrivals + b
                backlog[u] = 0.0
                continue
            if arrivals + b <= capacity and rate_u < cap_u * 0.9999:
                drain_s = b / (cap_u - rate_u)
                rec["late"][t, u] = b + rate_u * drain_s
                rec["wait"][t, u] = b / (2 * cap_u)
                rec["fresh"][t, u] = arrivals - rate_u * drain_s
                served_total += arrivals + b
                backlog[u] = 0.0
            else:
                rest = arrivals + b - capacity
                keep = min(rest, cap_u * sc.queue_timeout_s)
                rec["late"][t, u] = capacity
                rec["wait"][t, u] = min(sc.queue_timeout_s, (b + keep) / (2 * cap_u))
                rec["drop"][t, u] = rest - keep
                rec["lam"][t, u] = 0.0
                served_total += capacity
                backlog[u] = keep
        vm_served[t], vm_capacity[t] = served_total, cap * step_s
        util = served_total / (cap * step_s) if cap else (1.0 if vm_rate > 0 else 0.0)
        last = {"served": served_total / step_s, "capacity": cap, "util": util}
    cluster.finish()
    for u in range(U):  # requests still queued at the end are counted as dropped
        rec["drop"][T - 1, u] += backlog[u]
    return ReplayRecord(
        arrivals=rps * step_s,
        vm_served=vm_served,
        vm_capacity=vm_capacity,
        ready=ready_log,
        servers=rec["servers"],
        mu=rec["mu"],
        lam=rec["lam"],
        fresh=rec["fresh"],
        late=rec["late"],
        late_wait_s=rec["wait"],
        dropped=rec["drop"],
        serverless_rps=to_serverless,
        serverless_share=shares,
        cost_by_option=dict(cluster.cost_by_option),
        interruptions=cluster.interruptions,
        waves=cluster.waves,
        stress_steps=tuple(cluster.stress_steps),
        peak_steps=tuple(sorted(peaks)),
        launch_failures=cluster.launch_failures,
        scaling_actions=cluster.actions,
    )
