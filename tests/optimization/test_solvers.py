import numpy as np
import pytest

from optimization.backend import NumpyBackend, TorchBackend
from optimization.exact import solve_exhaustive, solve_milp
from optimization.gapso import GAPSOConfig, solve_gapso
from optimization.layout import layout_problem, on_backend
from optimization.objective import evaluate_population
from optimization.repair import Repairer
from optimization.solver import solve
from optimization.suite import bench_suite

FAST = GAPSOConfig(population=24, ga_generations=8, pso_iterations=8)


@pytest.mark.parametrize("method", ["gapso", "exact", "hybrid"])
def test_every_method_returns_a_feasible_allocation(medium_problem, method):
    solution = solve(medium_problem, method=method, config=FAST)
    layout = layout_problem(medium_problem)
    assert solution.counts.shape == (layout.n_intervals, layout.n_options)
    assert solution.feasible and (solution.counts >= 0).all()
    assert solution.cost_usd > 0 and 0 <= solution.sla_violation_rate <= 1
    assert len(solution.schedule()) == layout.n_intervals


def test_same_seed_same_solution(medium_problem):
    first = solve_gapso(medium_problem, seed=7, config=FAST, backend="numpy")
    second = solve_gapso(medium_problem, seed=7, config=FAST, backend="numpy")
    np.testing.assert_array_equal(first.counts, second.counts)
    assert first.objective_usd == second.objective_usd


@pytest.mark.parametrize("backend", [NumpyBackend(), TorchBackend("cpu")], ids=lambda b: b.name)
def test_repair_makes_random_allocations_feasible(medium_problem, backend):
    host = layout_problem(medium_problem)
    layout = on_backend(host, backend)
    rng = np.random.default_rng(3)
    garbage = rng.integers(-3, 30, size=(40, host.n_intervals, host.n_options)).astype(float)
    garbage[:10] = 0.0
    repaired = Repairer(layout, host, backend).repair(backend.asarray(garbage))
    violation = backend.to_numpy(
        evaluate_population(repaired, layout, medium_problem.weights, backend).violation
    )
    assert (violation <= 1e-9).all()


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_gapso_gap_to_the_milp_is_small(index):
    problem = bench_suite()[index]
    exact = solve_milp(problem)
    heuristic = solve_gapso(problem, seed=0, backend="numpy")
    assert exact.status == "optimal"
    assert heuristic.cost_usd >= exact.cost_usd - 1e-6  # the MILP is a true lower bound
    assert heuristic.cost_usd <= exact.cost_usd * 1.005


def test_exhaustive_agrees_with_the_milp_on_cost():
    problem = bench_suite()[0]
    assert solve_exhaustive(problem).cost_usd == pytest.approx(solve_milp(problem).cost_usd)


def test_gapso_is_near_the_enumerated_optimum_of_the_full_objective(tiny_full_problem):
    best = solve_exhaustive(tiny_full_problem)
    found = solve_gapso(tiny_full_problem, seed=0, backend="numpy")
    assert found.objective_usd >= best.objective_usd - 1e-9
    assert found.objective_usd <= best.objective_usd * 1.02


def test_hybrid_is_never_worse_than_the_milp_on_the_full_objective(tiny_full_problem):
    exact = solve(tiny_full_problem, method="exact")
    hybrid = solve(tiny_full_problem, method="hybrid", config=FAST)
    assert hybrid.objective_usd <= exact.objective_usd + 1e-9


def test_time_limited_milp_records_its_bound():
    problem = bench_suite()[6]
    try:
        solution = solve_milp(problem, time_limit_s=0.05)
    except TimeoutError:
        return  # no incumbent in time is reported as such, also acceptable
    if solution.status == "optimal":
        assert solution.mip_gap is None
    else:
        assert solution.bound_usd is not None and solution.bound_usd <= solution.objective_usd
        assert solution.mip_gap is not None and solution.mip_gap >= 0


def test_unknown_method_is_refused(small_problem):
    with pytest.raises(ValueError, match="method"):
        solve(small_problem, method="annealing")
