"""Ballast's own policy: forecast quantiles size spot over a reserved floor; serverless the rest.

Per step it predicts the load over the boot lead time as the recent level times the forecast's
seasonal shape (forecasting/, refitted hourly), then widens that point by the empirical
quantile of its own recent errors, the newsvendor quantile 1 - (VM cost / serverless cost) per
unit of capacity: a replica is worth keeping while the chance it is needed beats its price
against the functions that would serve instead. Replicas are the fewest that meet the SLA at
that load (exact M/M/c), on the cheapest spot pool whose interruption hazard is at most the
15-20 % band (the 2-minute notice outlasts a CPU boot, so a replacement is ready in time). After
a day of history a reserved floor is committed (a quarter of the day's 5th-percentile need), as
insurance against correlated spot reclaims the model does not draw. Batch on spot with
checkpoints.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from simulation.policies.base import Context, Decision, Observation, cheapest_pool
from simulation.serverless import duration_ms
from simulation.sizing import SlaTable, replicas_for_sla

SAFE_SPOT_HAZARD_PER_HOUR = 3.1e-4  # up to the 15-20 % band (cost-model.md section 1)


class Ballast:
    """Quantile sizing on spot + reserved floor + serverless for the residual."""

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
        self.quantile = self.newsvendor_quantile(spec)
        self.committed = False
        max_replicas = int(sc.peak_rps * 2 / self.profile.capacity_rps) + 16
        self.table = SlaTable(self.profile, sc, max_late, max_replicas)

    def newsvendor_quantile(self, spec) -> float:
        """1 - VM cost / serverless cost per rps-hour, clipped to [0.5, 0.99]."""
        fn = self.sc.serverless
        dur_s = duration_ms(spec, self.serverless_memory_mb) / 1000
        per_request = (
            fn.per_request_usd + self.serverless_memory_mb / 1024 * dur_s * fn.per_gb_s_usd
        )
        serverless_per_rps_h = 3600 * per_request
        price = self.sc.instance(self.pool[0]).price_per_hour_usd(self.pool[1])
        vm_per_rps_h = price / self.profile.capacity_rps
        return float(np.clip(1 - vm_per_rps_h / serverless_per_rps_h, 0.5, 0.99))

    def predict(self, t: int, history: np.ndarray) -> np.ndarray:
        """Point forecast of steps t..t+lead-1: recent level x the forecast's seasonal shape."""
        level = 0.5 * history[-1] + 0.5 * float(history[-3:].mean())
        shape = np.ones(self.lead)
        if t >= 3:
            fc = self.forecasts.at(t - 3, self.lead + 5)
            if fc is not None:
                now = float(fc[:5].mean())  # centred on step t-1
                ahead = np.array([fc[k + 1 : k + 6].mean() for k in range(self.lead)])
                if now > 0:
                    shape = np.clip(ahead / now, 0.7, 1.5)
        return level * shape

    def widen(self, point: float) -> float:
        """The point forecast raised to the newsvendor quantile of the recent errors.

        Errors are kept both as ratios (right for smooth load, whose noise scales with it) and
        as differences (right for sparse, spiky load, where ratios explode); the smaller
        answer wins, since serverless takes whatever a too-small answer misses.
        """
        if len(self.ratios) < 30:
            return point * 1.3
        scaled = point * math.exp(max(0.0, float(np.quantile(self.ratios, self.quantile))))
        shifted = point + max(0.0, float(np.quantile(self.gaps, self.quantile)))
        return min(scaled, shifted)

    def decide(self, obs: Observation) -> Decision:
        """Quantile need over the lead time -> SLA replicas, less the reserved floor."""
        t, history = obs.t, obs.history_rps
        if t > 0 and (t - 1) in self.pending:
            actual, predicted = history[-1], self.pending.pop(t - 1)
            self.ratios.append(math.log((actual + 1) / (predicted + 1)))
            self.gaps.append(actual - predicted)
        point = self.predict(t, history)
        self.pending[t + self.lead - 1] = float(point[-1])
        need = self.widen(float(point.max()))
        total = self.table.replicas(need)
        reserve: dict[str, int] = {}
        if not self.committed and t >= self.day_steps:
            day = history[-self.day_steps :]
            floor_rate = float(np.percentile(day, 5)) * self.reserved_fraction
            n = int(replicas_for_sla(np.array([floor_rate]), self.profile, self.sc, 1.0)[0])
            reserve = {self.pool[0]: n} if n else {}
            self.committed = True
        reserved = obs.reserved.get(self.pool[0], 0) + reserve.get(self.pool[0], 0)
        return Decision({self.pool: max(0, total - reserved)}, reserve)
