import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from policies.scenario import default_scenario, load_scenario
from simulation.__main__ import main
from simulation.batch import night_starts_s, run_nights
from simulation.compare import POLICY_NAMES, compare_policies
from simulation.metrics import METRIC_KEYS
from simulation.trace import load_trace
from tests.simulation.conftest import TRACES, write_trace

ROOT = Path(__file__).resolve().parents[2]
OPTIONS = {"on_demand", "spot", "reserved", "serverless"}


@pytest.fixture(scope="module")
def llm_result():
    """All policies over the 1-second, 58-minute Azure LLM trace (resampled to 60 s)."""
    scenario = default_scenario()
    load = load_trace(TRACES / "azure_llm_conv_2023-11-16_1s.csv", step_s=60, peak_rps=2000)
    return compare_policies(load, scenario, POLICY_NAMES, seed=3)


def test_every_policy_reports_every_design_metric(llm_result):
    assert set(llm_result) == {"trace", "interval_s", "duration_h", "seed", "scenario", "policies"}
    assert set(llm_result["policies"]) == set(POLICY_NAMES)
    for metrics in llm_result["policies"].values():
        assert set(METRIC_KEYS) <= set(metrics)
        assert set(metrics["cost_by_option"]) == OPTIONS
        assert 0 <= metrics["sla_violation_rate"] <= 1
        assert metrics["cost_usd"] >= metrics["compute_cost_usd"] > 0


def test_one_second_trace_of_an_hour_runs_and_skips_the_batch(llm_result):
    assert llm_result["interval_s"] == 1
    assert llm_result["duration_h"] == pytest.approx(58 / 60)
    assert "batch skipped" in llm_result["scenario"]["notes"][0]
    assert all(m["batch_deadline_misses"] == 0 for m in llm_result["policies"].values())


def test_a_constant_trace_is_replayed_as_a_steady_load_and_says_so(tmp_path):
    load = load_trace(write_trace(tmp_path / "flat.csv", [7.5] * 180), peak_rps=1000)
    result = compare_policies(load, default_scenario(), ("threshold", "oracle"), seed=0)
    assert np.all(load.rps == 1000)
    assert "the trace is constant" in result["scenario"]["notes"][0]
    assert result["policies"]["oracle"]["sla_violation_rate"] < 0.01


def test_a_trace_missing_a_few_intervals_is_filled_and_says_so(tmp_path):
    path = write_trace(tmp_path / "gappy.csv", [100.0 + i % 30 for i in range(300)])
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:51] + lines[53:]) + "\n")  # minutes 50 and 51 lost
    load = load_trace(path, peak_rps=1000)
    result = compare_policies(load, default_scenario(), ("threshold",), seed=0)
    assert load.filled == 2 and len(load.rps) == 300
    assert "2 missing intervals of the trace were filled" in " ".join(result["scenario"]["notes"])


def test_a_jittered_trace_is_put_on_its_grid_and_says_so(tmp_path):
    # Scraped every minute give or take two seconds: read on the 60 s grid, nothing refused.
    path = write_trace(tmp_path / "jitter.csv", [100.0 + i % 30 for i in range(300)])
    lines = path.read_text().splitlines()
    shifted = [lines[0], lines[1]] + [
        line.replace(":00Z,", f":0{(i % 3) + 1}Z,") if i % 2 else line
        for i, line in enumerate(lines[2:])
    ]
    path.write_text("\n".join(shifted) + "\n")
    exact = load_trace(write_trace(tmp_path / "exact.csv", [100.0 + i % 30 for i in range(300)]))
    load = load_trace(path)
    result = compare_policies(load, default_scenario(), ("threshold",), seed=0)
    assert (load.source_interval_s, load.regridded, load.filled) == (60, 149, 0)
    assert np.array_equal(load.rps, exact.rps)
    assert "149 rows of the trace were off its regular 60 s grid" in result["scenario"]["notes"][0]


def test_oracle_is_cheapest_online(llm_result):
    costs = {n: m["compute_cost_usd"] for n, m in llm_result["policies"].items()}
    assert min(costs, key=costs.get) == "oracle"


def test_same_seed_gives_identical_json(tmp_path):
    trace = write_trace(tmp_path / "t.csv", (100 + 50 * np.sin(np.arange(180) / 9)).round(3))
    load = load_trace(trace, step_s=60, peak_rps=3000)
    first = compare_policies(load, default_scenario(), POLICY_NAMES, seed=7)
    second = compare_policies(load, default_scenario(), POLICY_NAMES, seed=7)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_month_long_five_minute_trace_runs():
    scenario = default_scenario(step_s=300)
    load = load_trace(TRACES / "azure_vm2019_cpu_5min.csv", step_s=300, peak_rps=5000)
    policies = ("threshold", "hpa", "ballast_controller", "oracle")
    out = compare_policies(load, scenario, policies, seed=0)
    assert out["duration_h"] == pytest.approx(720)
    assert out["scenario"]["batch"]["nights"] == 30
    assert all(m["batch_deadline_misses"] == 0 for m in out["policies"].values())


def test_batch_on_spot_checkpoints_and_is_cheaper_than_on_demand():
    scenario = default_scenario()
    starts = night_starts_s(0, 0.0, 3 * 86400, scenario.batch)
    assert starts == [3600.0, 90000.0, 176400.0]
    itype = scenario.instance("g4dn.xlarge")
    spot = run_nights(starts, scenario.batch, itype, "spot", np.random.default_rng(0))
    od = run_nights(starts, scenario.batch, itype, "on_demand", np.random.default_rng(0))
    assert spot.deadline_misses == od.deadline_misses == 0
    # on-demand: 3 nights x 3 replicas x (240 s boot + 2 h work) at 0.526 $/h
    assert od.cost_by_option["on_demand"] == pytest.approx(9 * (240 + 7200) / 3600 * 0.526)
    assert 0 < spot.cost_by_option["spot"] < od.cost_by_option["on_demand"]
    assert spot.storage_cost_usd > 0


def test_batch_misses_a_deadline_it_cannot_meet():
    scenario = default_scenario()
    job = scenario.batch.__class__(work_replica_h=30.0, replicas=3)
    out = run_nights([3600.0], job, scenario.instance("g4dn.xlarge"), "on_demand", None)
    assert out.deadline_misses == 1


def test_scenario_file_overrides_fields(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"latency_target_ms": 150, "batch": {"replicas": 4}}))
    sc = load_scenario(path)
    assert sc.latency_target_ms == 150 and sc.batch.replicas == 4
    path.write_text(json.dumps({"nope": 1}))
    with pytest.raises(ValueError, match="unknown field"):
        load_scenario(path)


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "simulation", "compare", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_writes_the_json_contract(tmp_path):
    lines = (TRACES / "nasa_http_1995-07_1min.csv").read_text().splitlines()[:181]
    trace = tmp_path / "slice.csv"
    trace.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.json"
    proc = run_cli(
        "--trace",
        str(trace),
        "--peak-rps",
        "800",
        "--seed",
        "2",
        "--policies",
        "threshold,ballast,oracle",
        "--json",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["seed"] == 2 and data["interval_s"] == 60
    assert set(data["policies"]) == {"threshold", "ballast", "oracle"}
    assert data["scenario"]["peak_rps"] == 800


def test_cli_writes_to_stdout_with_dash(tmp_path, capsys):
    trace = write_trace(tmp_path / "t.csv", [5, 9, 7, 3, 8] * 12)
    assert main(["compare", "--trace", str(trace), "--policies", "hpa", "--json", "-"]) == 0
    assert "hpa" in json.loads(capsys.readouterr().out)["policies"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trace", "missing.csv"], "no such file"),
        (["--policies", "nope"], "unknown policy 'nope'"),
        (["--peak-rps", "-5"], "peak_rps must be"),
    ],
)
def test_cli_exits_2_with_a_message_on_bad_input(tmp_path, capsys, args, message):
    trace = write_trace(tmp_path / "t.csv", [5, 9, 7, 3] * 5)
    base = {"--trace": str(trace), "--json": str(tmp_path / "o.json")}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    assert main(["compare", *[x for kv in base.items() for x in kv]]) == 2
    assert message in capsys.readouterr().err


def test_cli_refuses_a_malformed_trace(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("time,value\n2024-01-01T00:00:00Z,1\n")
    proc = run_cli("--trace", str(bad), "--json", "-")
    assert proc.returncode == 2 and "header must be" in proc.stderr
