"""`python -m forecasting backtest`, run as a user would, on a small slice of a real trace."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from forecasting.__main__ import main
from tests.forecasting.conftest import TRACES

ROOT = Path(__file__).resolve().parents[2]
MODEL_KEYS = {"mase", "smape", "coverage_90", "pinball", "fit_seconds"}
TIMING_KEYS = {"fit_seconds", "predict_seconds"}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "forecasting", "backtest", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


def without_timing(value):
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if k not in TIMING_KEYS}
    return value


@pytest.fixture(scope="module")
def small_trace(tmp_path_factory) -> Path:
    lines = (TRACES / "azure_llm_conv_2023-11-16_1s.csv").read_text().splitlines()
    path = tmp_path_factory.mktemp("trace") / "llm_15min.csv"
    path.write_text("\n".join(lines[:901]) + "\n")  # header + 15 minutes of seconds
    return path


@pytest.mark.slow
def test_backtest_writes_the_contract_and_repeats_with_the_seed(small_trace, tmp_path):
    args = ["--trace", str(small_trace), "--horizon", "60", "--folds", "1", "--seed", "7"]
    done = run_cli(*args, "--json", str(tmp_path / "first.json"))
    assert done.returncode == 0, done.stderr
    assert main(["backtest", *args, "--json", str(tmp_path / "second.json")]) == 0
    outputs = [json.loads((tmp_path / f"{n}.json").read_text()) for n in ("first", "second")]
    report = outputs[0]
    assert {"trace", "interval_s", "horizon", "folds", "models", "auto"} <= set(report)
    assert (report["trace"], report["interval_s"], report["horizon"], report["folds"]) == (
        "llm_15min.csv",
        1,
        60,
        1,
    )
    assert {"seasonal_naive", "ets", "sarima", "prophet", "lstm"} <= set(report["models"])
    for scores in report["models"].values():
        assert MODEL_KEYS <= set(scores) and scores["mase"] > 0
    assert set(report["auto"]["chosen"].split("+")) <= set(report["models"])
    last = report["auto"]["weights"][-1]
    assert len(last) == len(report["auto"]["chosen"].split("+")) and sum(last) == pytest.approx(1)
    assert report["auto"]["mase"] > 0
    assert without_timing(outputs[0]) == without_timing(outputs[1])


def test_models_can_be_chosen_and_output_goes_to_stdout(small_trace, capsys):
    args = ["--trace", str(small_trace), "--horizon", "30", "--folds", "1"]
    assert main(["backtest", *args, "--models", "seasonal_naive,ets", "--json", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["models"]) == {"seasonal_naive", "ets"} and "auto" not in report


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trace", "missing.csv", "--horizon", "10"], "No such file"),
        (["--horizon", "5000"], "has 900 points; 5 folds (plus 2 for auto's selection) of 5000"),
        (["--horizon", "10", "--models", "arima"], "unknown models ['arima']"),
        (["--horizon", "10", "--folds", "0"], "--folds must be >= 1"),
    ],
)
def test_bad_input_exits_2_with_a_message(small_trace, args, message, capsys):
    if "--trace" not in args:
        args = ["--trace", str(small_trace), *args]
    assert main(["backtest", *args, "--json", "-"]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_a_broken_trace_file_exits_2_naming_the_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:01:00Z,-3\n")
    done = run_cli("--trace", str(path), "--horizon", "1", "--json", "-")
    assert done.returncode == 2 and "row 3" in done.stderr and done.stdout == ""


def test_auto_one_step_ahead_selects_on_twelve_folds(small_trace, capsys):
    # Two one-step folds are two numbers: auto selects (and fits its width) on 12 steps.
    args = ["--trace", str(small_trace), "--horizon", "1", "--folds", "3", "--json", "-"]
    assert main(["backtest", *args, "--models", "seasonal_naive,ets,auto"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["auto"]["choices"]) == 3
    assert "over the last 12 backtest folds of 1 steps" in report["auto"]["reason"]


def test_a_trace_with_a_few_missing_seconds_is_filled_and_says_how_many(small_trace, capsys):
    lines = small_trace.read_text().splitlines()
    gappy = small_trace.parent / "llm_gappy.csv"
    gappy.write_text("\n".join(lines[:301] + lines[303:]) + "\n")  # seconds 300 and 301 lost
    args = ["--trace", str(gappy), "--horizon", "30", "--folds", "1", "--json", "-"]
    assert main(["backtest", *args, "--models", "seasonal_naive"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["filled_intervals"] == 2 and report["interval_s"] == 1
