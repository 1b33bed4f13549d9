"""Exact references: a MILP of the linear (compute cost) objective on HiGHS, and enumeration."""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from optimization.layout import InfeasibleProblem, Layout, layout_problem
from optimization.objective import evaluate_population
from optimization.problem import AllocationProblem
from optimization.solution import Solution, make_solution

if TYPE_CHECKING:
    from scipy.optimize import Bounds, OptimizeResult
    from scipy.sparse import csr_array

# scipy (70 MB, 0.6 s) loads when a model is first built, not with this module: the web process
# imports the optimizer's types but solves nothing.

# Constraint groups, in the order an infeasibility is blamed on them; names are the fields of
# Constraints (or Offer) a user would change.
# The limits come first: when dropping the budget or the demand would each fix the problem, the
# budget is what cannot be met.
GROUPS = (
    "budget_per_hour_usd",
    "max_replicas",
    "max_count",
    "max_change_per_interval",
    "min_non_spot_replicas",
    "min_replicas",
    "demand_quantile",
)
EXHAUSTIVE_LIMIT = 3_000_000

# A constraint row: coefficients by variable index, lower bound, upper bound.
Row = tuple[dict[int, float], float, float]


@dataclass(frozen=True, eq=False)
class LinearModel:
    """min c @ z  s.t.  lower <= A @ z <= upper, bounds, integrality; z = (x[t, k], s[t])."""

    cost: np.ndarray
    matrix: csr_array
    lower: np.ndarray
    upper: np.ndarray
    bounds: Bounds
    integrality: np.ndarray
    constant_usd: float
    n_counts: int  # T*K leading entries of z are the counts


def build_model(layout: Layout, drop: frozenset[str] = frozenset()) -> LinearModel:
    """The MILP of `layout`, leaving out the constraint groups in `drop`."""
    from scipy.optimize import Bounds
    from scipy.sparse import csr_array, lil_array

    T, K = layout.n_intervals, layout.n_options
    has_serverless = layout.serverless_capacity_rps > 0
    n = T * K + (T if has_serverless else 0)
    rows: list[Row] = []
    for t in range(T):
        rows.extend(interval_rows(layout, t, K, T, has_serverless, drop))
    if "max_change_per_interval" not in drop and math.isfinite(layout.max_change_per_interval):
        rows.extend(change_rows(layout, K))
    matrix = lil_array((len(rows), n))
    for r, (coefs, _, _) in enumerate(rows):
        for j, v in coefs.items():
            matrix[r, j] = v
    upper_x = layout.option_upper.copy()
    if "max_replicas" in drop or "max_count" in drop:
        upper_x = np.full(K, np.inf)
    h = layout.interval_h
    cost = np.concatenate(
        [np.tile(layout.price_per_hour_usd * h, T)]
        + ([np.full(T, layout.serverless_price_per_rps_hour_usd * h)] if has_serverless else [])
    )
    upper = np.concatenate(
        [np.tile(upper_x, T)]
        + ([np.full(T, layout.serverless_capacity_rps)] if has_serverless else [])
    )
    return LinearModel(
        cost=cost,
        matrix=csr_array(matrix),
        lower=np.array([r[1] for r in rows]),
        upper=np.array([r[2] for r in rows]),
        bounds=Bounds(np.zeros(n), upper),
        integrality=np.concatenate([np.ones(T * K), np.zeros(n - T * K)]),
        constant_usd=layout.committed_usd_per_hour * h * T,
        n_counts=T * K,
    )


def interval_rows(
    layout: Layout, t: int, K: int, T: int, has_serverless: bool, drop: frozenset[str]
) -> list[Row]:
    """Rows (coefficients, lower, upper) of interval t."""
    x = {k: t * K + k for k in range(K)}
    rows: list[Row] = []
    if "demand_quantile" not in drop:
        cover = {x[k]: layout.usable_capacity_rps[k] for k in range(K)}
        if has_serverless:
            cover[T * K + t] = 1.0
        rows.append((cover, layout.need_rps[t], np.inf))
    if "min_non_spot_replicas" not in drop and layout.min_non_spot_replicas > 0:
        non_spot = {x[k]: 1.0 for k in range(K) if not layout.is_spot[k]}
        rows.append((non_spot, layout.min_non_spot_replicas, np.inf))
    low = layout.min_replicas if "min_replicas" not in drop else 0.0
    high = layout.max_replicas if "max_replicas" not in drop else np.inf
    if low > 0 or math.isfinite(high):
        rows.append(({x[k]: 1.0 for k in range(K)}, low, high))
    if "budget_per_hour_usd" not in drop and math.isfinite(layout.budget_per_hour_usd):
        spend = {x[k]: layout.price_per_hour_usd[k] for k in range(K)}
        if has_serverless:
            spend[T * K + t] = layout.serverless_price_per_rps_hour_usd
        rows.append((spend, -np.inf, layout.budget_per_hour_usd - layout.committed_usd_per_hour))
    if "max_count" not in drop:
        for member, limit in zip(layout.offer_of_option, layout.offer_limit, strict=True):
            rows.append(({x[int(k)]: 1.0 for k in np.flatnonzero(member)}, -np.inf, limit))
    return rows


def change_rows(layout: Layout, K: int) -> list[Row]:
    """Rows |n_t - n_{t-1}| <= max_change, and against the initial replicas when known."""
    delta = layout.max_change_per_interval
    rows: list[Row] = []
    for t in range(1, layout.n_intervals):
        coefs = {t * K + k: 1.0 for k in range(K)} | {(t - 1) * K + k: -1.0 for k in range(K)}
        rows.append((coefs, -delta, delta))
    if math.isfinite(layout.initial_replicas):
        start = layout.initial_replicas
        rows.append(({k: 1.0 for k in range(K)}, start - delta, start + delta))
    return rows


def run_highs(model: LinearModel, *, integral: bool, time_limit_s: float | None) -> OptimizeResult:
    """scipy.optimize.milp (HiGHS) on `model`, relaxed when not `integral`."""
    from scipy.optimize import LinearConstraint, milp

    options: dict[str, bool | float] = {"disp": False}
    if time_limit_s is not None:
        options["time_limit"] = float(time_limit_s)
    return milp(
        model.cost,
        integrality=model.integrality if integral else np.zeros_like(model.integrality),
        bounds=model.bounds,
        constraints=LinearConstraint(model.matrix, model.lower, model.upper),
        options=options,
    )


def solve_relaxation(layout: Layout) -> np.ndarray:
    """LP-relaxation counts (T, K), floats; raises InfeasibleProblem naming the constraint."""
    model = build_model(layout)
    result = run_highs(model, integral=False, time_limit_s=None)
    if result.x is None:
        raise diagnose(layout, integral=False)
    counts: np.ndarray = result.x[: model.n_counts].reshape(layout.n_intervals, layout.n_options)
    return counts


def diagnose(layout: Layout, *, integral: bool, time_limit_s: float = 5.0) -> InfeasibleProblem:
    """The InfeasibleProblem for the first constraint group whose removal restores feasibility."""
    for group in GROUPS:
        model = build_model(layout, drop=frozenset({group}))
        if run_highs(model, integral=integral, time_limit_s=time_limit_s).x is not None:
            return InfeasibleProblem(group, describe(group, layout))
    return InfeasibleProblem("constraints", "no single constraint explains it; several conflict")


def describe(group: str, layout: Layout) -> str:
    """A sentence about why `group` blocks every allocation."""
    peak = float(layout.need_rps.max())
    return {
        "demand_quantile": f"the offers cannot cover {peak:.1f} rps at the planning quantile",
        "min_non_spot_replicas": "not enough non-spot capacity for the non-spot floor",
        "min_replicas": f"min_replicas {layout.min_replicas:g} conflicts with another limit",
        "max_replicas": f"max_replicas {layout.max_replicas:g} cannot cover {peak:.1f} rps",
        "max_count": "reserved commitments / offer max_count are too small",
        "budget_per_hour_usd": (
            f"budget {layout.budget_per_hour_usd:g} USD/h is below the cheapest covering fleet"
        ),
        "max_change_per_interval": (
            f"demand moves faster than {layout.max_change_per_interval:g} replicas per interval"
        ),
    }[group]


def solve_milp(
    problem: AllocationProblem, *, time_limit_s: float = 30.0, layout: Layout | None = None
) -> Solution:
    """Minimise the compute cost exactly (HiGHS branch and bound) within `time_limit_s`.

    The status is "optimal" when proven; otherwise "time_limit" with `bound_usd` (HiGHS's dual
    bound) and `mip_gap` recorded. The SLA terms of the objective are not in the MILP: use
    method "hybrid" to polish its answer on the full objective.
    """
    layout = layout or layout_problem(problem)
    model = build_model(layout)
    started = time.perf_counter()
    result = run_highs(model, integral=True, time_limit_s=time_limit_s)
    seconds = time.perf_counter() - started
    if result.x is None:
        if result.status == 1:
            raise TimeoutError(f"MILP found no allocation within {time_limit_s} s")
        raise diagnose(layout, integral=True)
    counts = np.rint(result.x[: model.n_counts]).reshape(layout.n_intervals, layout.n_options)
    optimal = result.status == 0
    bound = getattr(result, "mip_dual_bound", None)
    return make_solution(
        problem,
        layout,
        counts,
        method="exact",
        status="optimal" if optimal else "time_limit",
        bound_usd=None if bound is None else float(bound) + model.constant_usd,
        seconds=seconds,
    )


def solve_exhaustive(problem: AllocationProblem, *, batch: int = 65_536) -> Solution:
    """Enumerate every allocation of a tiny problem and return the best on the full objective.

    Each option ranges over 0 .. ceil(peak demand of any scenario / its usable capacity) + 1
    (capped by its upper bound), the box every sensible allocation lies in.
    """
    layout = layout_problem(problem)
    peak = max(float(layout.scenario_rps.max()), float(layout.need_rps.max()))
    tops = np.minimum(np.ceil(peak / layout.usable_capacity_rps) + 1, layout.option_upper)
    per_interval = np.array(list(itertools.product(*[range(int(u) + 1) for u in tops])), float)
    total = len(per_interval) ** layout.n_intervals
    if total > EXHAUSTIVE_LIMIT:
        raise ValueError(
            f"exhaustive search would visit {total} allocations (> {EXHAUSTIVE_LIMIT})"
        )
    started = time.perf_counter()
    best_value = np.inf
    best: np.ndarray | None = None
    combos = itertools.product(range(len(per_interval)), repeat=layout.n_intervals)
    while chunk := list(itertools.islice(combos, batch)):
        population = per_interval[np.array(chunk)]  # (n, T, K)
        values = evaluate_population(population, layout, problem.weights).penalized_usd
        i = int(np.argmin(values))
        if values[i] < best_value:
            best_value, best = values[i], population[i]
    if best is None:
        raise ValueError("exhaustive search found no allocation with a finite objective")
    return make_solution(
        problem,
        layout,
        best,
        method="exhaustive",
        status="optimal",
        seconds=time.perf_counter() - started,
        evaluations=total,
    )
