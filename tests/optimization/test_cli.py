import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "optimization", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def problem_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "problem.json"
    assert run("example", "--name", "small-6x8x2", "--json", str(path)).returncode == 0
    return path


def test_bench_writes_the_contract(tmp_path):
    out = tmp_path / "bench.json"
    result = run("bench", "--json", str(out), "--backend", "numpy")
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    keys = {"name", "exact_cost", "gapso_cost", "gap", "gapso_seconds", "exact_seconds"}
    assert data["instances"] and all(keys <= set(row) for row in data["instances"])
    gaps = sorted(row["gap"] for row in data["instances"])
    assert data["max_gap"] == gaps[-1] and min(gaps) >= -1e-9


def test_solve_prints_a_solution_to_stdout(problem_file):
    result = run("solve", "--problem", str(problem_file), "--json", "-", "--pareto")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["solution"]["feasible"] and data["pareto"]
    assert 0 <= data["knee_index"] < len(data["pareto"])


def test_bad_input_exits_2_naming_the_cause(problem_file, tmp_path):
    data = json.loads(problem_file.read_text())
    data["offers"][1]["price_per_hour_usd"] = -1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    result = run("solve", "--problem", str(bad), "--json", "-")
    assert result.returncode == 2 and "price_per_hour_usd" in result.stderr
    missing = run("solve", "--problem", str(tmp_path / "nope.json"), "--json", "-")
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_infeasible_problem_exits_2_naming_the_constraint(problem_file, tmp_path):
    data = json.loads(problem_file.read_text())
    data["constraints"]["budget_per_hour_usd"] = 0.2
    path = tmp_path / "poor.json"
    path.write_text(json.dumps(data))
    result = run("solve", "--problem", str(path), "--json", "-")
    assert result.returncode == 2 and "budget_per_hour_usd" in result.stderr
