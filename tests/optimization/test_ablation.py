"""The ablation benchmark's arms: one starting population per seed, never lost by the search."""

import dataclasses

import pytest

from benchmarks.optimization_ablation import (
    ARMS,
    BASELINE,
    COMMAND,
    SECTION,
    lower_bound_usd,
    run_case,
)
from benchmarks.optimization_doc import DOCUMENT, read_section, write_section
from optimization.gapso import GAPSOConfig
from optimization.problem import Weights
from optimization.suite import bench_suite


@pytest.fixture(scope="module")
def small_problem():
    return next(p for p in bench_suite() if p.name == "small-6x8x2")


def test_the_full_arm_is_the_default_config():
    assert ARMS["GA-PSO"][0] == GAPSOConfig()


@pytest.mark.parametrize("weights", [Weights.cost_only(), Weights()], ids=["cost", "cost+sla"])
def test_every_arm_ends_at_or_below_seed_and_repair_with_its_budget(small_problem, weights):
    case = run_case(dataclasses.replace(small_problem, weights=weights), seeds=(0, 1))
    population = GAPSOConfig().population
    assert case.arms[BASELINE].evaluations == population
    for arm, (config, _) in ARMS.items():
        assert case.arms[arm].evaluations == config.max_evaluations
        for value, start in zip(
            case.arms[arm].objective_usd, case.arms[BASELINE].objective_usd, strict=True
        ):
            assert value <= start + 1e-9
        assert min(case.arms[arm].objective_usd) >= case.bound_usd - 1e-9


def test_the_bound_is_below_the_milps_allocation_on_the_sla_objective(small_problem):
    case = run_case(dataclasses.replace(small_problem, weights=Weights()), seeds=(0,))
    assert case.bound_usd == lower_bound_usd(case.problem, case.milp)
    assert case.bound_usd < case.milp.cost_usd
    assert case.bound_usd <= case.milp.objective_usd


def test_a_section_is_replaced_and_the_rest_of_the_document_kept(tmp_path):
    path = tmp_path / "optimization.md"
    write_section("ablation", "old figures", path)
    path.write_text("# Head\n\n" + path.read_text() + "\nTail\n")
    write_section("ablation", "new figures", path)
    text = path.read_text()
    assert text.startswith("# Head\n") and text.endswith("Tail\n")
    assert "new figures" in text and "old figures" not in text


def test_the_ablation_is_a_section_of_the_optimization_benchmark_with_its_command():
    section = read_section(DOCUMENT.read_text(), SECTION)
    assert section is not None and COMMAND in section
