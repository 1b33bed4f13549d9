"""Ballast's own policy: forecast quantiles size spot capacity; serverless takes the rest.

Per step it predicts the load over the boot lead time as the recent level (the mean of the last
LEVEL_SPAN steps) times the forecast's seasonal shape (forecasting/, refitted hourly): the
forecast ahead over the forecast for those same steps. It widens that point by the empirical
quantile of its own recent errors (a margin learned online, conformal-style), at the newsvendor
quantile 1 - (VM cost / serverless cost) per unit of capacity: a replica is worth keeping while
the chance it is needed beats its price against the functions that would serve instead.
Replicas are the fewest that meet the SLA at that load (exact M/M/c), on the cheapest spot pool
whose interruption hazard is at most the 15-20 % band (the 2-minute notice outlasts a CPU boot,
so a replacement is ready in time), less the last one when it would carry under the break-even
rate of functions (`serverless.break_even_rps`, ~18 rps): the spill router sends that share to
functions, which cost less than a nearly idle replica. The functions get the cheapest memory
that keeps a request under half the latency target (as Paragon sizes them). Batch on spot with
checkpoints.

A reserved floor (`reserved_fraction` of the day's 5th-percentile need, committed after a day)
keeps a non-spot base under the online service, as Ballast's design promises (online inference
keeps a reserved/on-demand base). The simulator cannot show what it buys: its spot reclaims are
independent and replaced inside the 2-minute notice, whereas real reclaims come in correlated
waves. It costs 1.65x spot per unit here (0.1125 vs 0.068 USD/h on c6i.xlarge), billed to the
horizon's end; `reserved_fraction=0` prices the all-spot variant.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from simulation.policies.base import Context, Decision, Observation, cheapest_pool
from simulation.serverless import break_even_rps, cost_per_request_usd, size_memory
from simulation.sizing import SlaTable, replicas_for_sla

SAFE_SPOT_HAZARD_PER_HOUR = 3.1e-4  # up to the 15-20 % band (cost-model.md section 1)
LEVEL_SPAN = 3  # steps averaged for the recent level
MIN_ERRORS = 30  # scored errors before the margin is learned rather than a fixed 30 %


class Ballast:
    """Quantile sizing on a reserved floor + spot, with serverless for the residual."""

    name = "ballast"
    spills = True
    batch_option = "spot"
    serverless_memory_mb = 2048
    zero_boot = False

    def __init__(
        self,
        ctx: Context,
        max_late: float = 0.002,
        reserved_fraction: float = 0.25,
        error_window_s: float = 3 * 3600,
    ):
        sc = ctx.scenario
        self.sc = sc
        self.variant = sc.default_variant
        self.pool = cheapest_pool(sc, self.variant, ("spot",), SAFE_SPOT_HAZARD_PER_HOUR)
        spec = sc.variant(self.variant)
        self.profile = spec.profile(self.pool[0])
        self.forecasts = ctx.forecasts
        self.max_late = max_late
        self.reserved_fraction = reserved_fraction
        step_s = ctx.load.step_s
        self.lead = math.ceil(sc.instance(self.pool[0]).boot_s / step_s) + 1
        self.day_steps = 86400 // step_s
        window = max(30, int(error_window_s // step_s))
        self.ratios: deque[float] = deque(maxlen=window)  # log(actual / predicted)
        self.gaps: deque[float] = deque(maxlen=window)  # actual - predicted, rps
        self.pending: dict[int, float] = {}  # step -> the farthest prediction made for it
        self.serverless_memory_mb = size_memory(spec, sc.serverless, sc.latency_target_ms)
        self.price_per_hour = sc.instance(self.pool[0]).price_per_hour_usd(self.pool[1])
        self.break_even_rps = break_even_rps(
            self.price_per_hour, spec, sc.serverless, self.serverless_memory_mb
        )
        self.quantile = self.newsvendor_quantile(spec)
        self.committed = False
        max_replicas = int(sc.peak_rps * 2 / self.profile.capacity_rps) + 16
        self.table = SlaTable(self.profile, sc, max_late, max_replicas)

    def newsvendor_quantile(self, spec) -> float:
        """1 - VM cost / serverless cost per rps-hour, clipped to [0.5, 0.99]."""
        per_request = cost_per_request_usd(spec, self.sc.serverless, self.serverless_memory_mb)
        serverless_per_rps_h = 3600 * per_request
        vm_per_rps_h = self.price_per_hour / self.profile.capacity_rps
        return float(np.clip(1 - vm_per_rps_h / serverless_per_rps_h, 0.5, 0.99))

    def replicas(self, need: float) -> int:
        """SLA replicas for `need`, less the last one when functions carry its share cheaper.

        The spill router sends what the other replicas cannot carry within the SLA to
        functions; below the break-even rate that costs less than a replica for the step.
        """
        total = self.table.replicas(need)
        if total == 0:
            return 0
        carried = float(self.table.max_rate_rps[total - 2]) if total >= 2 else 0.0
        return total - 1 if need - carried < self.break_even_rps else total

    def predict(self, t: int, history: np.ndarray) -> np.ndarray:
        """Point forecast of steps t..t+lead-1: recent level x the forecast's seasonal shape.

        The shape divides the forecast ahead by the forecast for the very steps the level
        averages (both smoothed over 5 steps), so level and shape are centred alike.
        """
        span = min(LEVEL_SPAN, len(history))
        level = float(history[-span:].mean())
        shape = np.ones(self.lead)
        if t >= LEVEL_SPAN + 2:
            fc = self.forecasts.at(t - LEVEL_SPAN - 2, LEVEL_SPAN + self.lead + 4)
            if fc is not None:
                smooth = np.convolve(fc, np.ones(5) / 5, mode="valid")  # [i] ~ step t - span + i
                base = float(smooth[:LEVEL_SPAN].mean())
                if base > 0:
                    shape = np.clip(smooth[LEVEL_SPAN : LEVEL_SPAN + self.lead] / base, 0.7, 1.5)
        return level * shape

    def widen(self, point: float) -> float:
        """The point forecast raised to the newsvendor quantile of the recent errors.

        Errors are kept both as ratios (right for smooth load, whose noise scales with it) and
        as differences (right for sparse, spiky load, where ratios explode); the smaller
        answer wins, since serverless takes whatever a too-small answer misses.
        """
        if len(self.ratios) < MIN_ERRORS:
            return point * 1.3
        scaled = point * math.exp(max(0.0, float(np.quantile(self.ratios, self.quantile))))
        shifted = point + max(0.0, float(np.quantile(self.gaps, self.quantile)))
        return min(scaled, shifted)

    def decide(self, obs: Observation) -> Decision:
        """Quantile need over the lead time -> SLA replicas, less any reserved floor."""
        t, history = obs.t, obs.history_rps
        if t > 0 and (t - 1) in self.pending:
            actual, predicted = history[-1], self.pending.pop(t - 1)
            self.ratios.append(math.log((actual + 1) / (predicted + 1)))
            self.gaps.append(actual - predicted)
        point = self.predict(t, history)
        self.pending[t + self.lead - 1] = float(point[-1])
        need = self.widen(float(point.max()))
        total = self.replicas(need)
        reserve: dict[str, int] = {}
        if self.reserved_fraction > 0 and not self.committed and t >= self.day_steps:
            day = history[-self.day_steps :]
            floor_rate = float(np.percentile(day, 5)) * self.reserved_fraction
            n = int(replicas_for_sla(np.array([floor_rate]), self.profile, self.sc, 1.0)[0])
            reserve = {self.pool[0]: n} if n else {}
            self.committed = True
        reserved = obs.reserved.get(self.pool[0], 0) + reserve.get(self.pool[0], 0)
        return Decision({self.pool: max(0, total - reserved)}, reserve)
