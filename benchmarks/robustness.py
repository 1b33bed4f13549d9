"""Both CLIs on shapes the six traces do not have; writes docs/benchmarks/robustness.md.

Run from the repository root:

    .venv/bin/python -m benchmarks.robustness

Forecasters and policies are judged on real traces held back from this project, so this
derives variants of the six real ones in data/traces (other intervals, short and odd windows,
other units, a level shift, an idle stretch, an export with no time zone and a few rows
missing; a constant and an all-zero series that must be refused) and runs
`python -m forecasting backtest` and `python -m simulation compare` on each as a user would:
exit status, the message of a refusal, wall seconds and the headline figures.
Nothing here is tuned on: it records what happens.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.forecasting_report import describe_machine
from forecasting.trace import Trace, read_trace

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT / "data" / "traces"
OUTPUT = ROOT / "docs" / "benchmarks" / "robustness.md"
COMMAND = ".venv/bin/python -m benchmarks.robustness"


def real(name: str) -> Trace:
    """One of the six real traces, by the start of its file name."""
    (path,) = TRACES.glob(f"{name}*.csv")
    return read_trace(path)


def window(trace: Trace, start_h: float, hours: float) -> Trace:
    """`hours` of the trace from `start_h` hours after its first timestamp."""
    first = int(start_h * 3600 / trace.interval_s)
    last = first + int(hours * 3600 / trace.interval_s)
    return Trace(trace.timestamps[first:last], trace.values[first:last], trace.interval_s)


def coarser(trace: Trace, factor: int, how: str) -> Trace:
    """Buckets of `factor` intervals: sums for counts, means for levels; partial ones dropped."""
    n = len(trace) // factor * factor
    buckets = trace.values[:n].reshape(-1, factor)
    values = buckets.sum(axis=1) if how == "sum" else buckets.mean(axis=1)
    return Trace(trace.timestamps[:n:factor], values, trace.interval_s * factor)


def with_values(trace: Trace, values: np.ndarray) -> Trace:
    """The same timestamps with other values."""
    return Trace(trace.timestamps, np.asarray(values, float), trace.interval_s)


def thinned(trace: Trace, share: float, seed: int) -> Trace:
    """Each request kept with probability `share`: the same service at a fraction of its load."""
    rng = np.random.default_rng(seed)
    return with_values(trace, rng.binomial(trace.values.astype(int), share))


def zeros_spliced(trace: Trace, start_h: float, hours: float) -> Trace:
    """`hours` of zeros from `start_h`: an outage, or a service switched off overnight."""
    values = trace.values.copy()
    first = int(start_h * 3600 / trace.interval_s)
    values[first : first + int(hours * 3600 / trace.interval_s)] = 0
    return with_values(trace, values)


def level_shift(trace: Trace, factor: float) -> Trace:
    """The second half at `factor` times the load: a launch, a migration."""
    values = trace.values.copy()
    values[len(values) // 2 :] *= factor
    return with_values(trace, values)


def rows_lost(trace: Trace, count: int, seed: int) -> Trace:
    """`count` single rows dropped at random: a scraper that missed a few intervals."""
    rng = np.random.default_rng(seed)
    lost = rng.choice(np.arange(1, len(trace) - 1), size=count, replace=False)
    keep = np.setdiff1d(np.arange(len(trace)), lost)
    return Trace(trace.timestamps[keep], trace.values[keep], trace.interval_s)


def jittered(trace: Trace, seconds: int, seed: int) -> Trace:
    """Each timestamp but the first moved by up to `seconds` either way: a scraper's jitter."""
    rng = np.random.default_rng(seed)
    shift = rng.integers(-seconds, seconds + 1, size=len(trace))
    shift[0] = 0
    stamps = trace.timestamps + shift.astype("timedelta64[s]")
    return Trace(stamps, trace.values, trace.interval_s)


VARIANTS: list[tuple[str, str, Callable[[], Trace]]] = [
    ("nasa_1h", "NASA, hourly sums, 27 days", lambda: coarser(real("nasa"), 60, "sum")),
    ("nasa_15min", "NASA, 15-minute sums", lambda: coarser(real("nasa"), 15, "sum")),
    ("nasa_7d_odd", "NASA, 7 days per minute from 13:37", lambda: window(real("nasa"), 81.62, 168)),
    ("nasa_1d_odd", "NASA, 1 day per minute from 13:37", lambda: window(real("nasa"), 57.62, 24)),
    ("nasa_3h", "NASA, 3 hours per minute", lambda: window(real("nasa"), 105, 3)),
    (
        "nasa_2d_idle6h",
        "NASA, 2 days per minute, 6 h of zeros spliced in",
        lambda: zeros_spliced(window(real("nasa"), 44, 48), 20, 6),
    ),
    ("llm_10s", "Azure LLM, 10-second sums", lambda: coarser(real("azure_llm"), 10, "sum")),
    (
        "llm_thin_1s",
        "Azure LLM at 1 s, 5 % of requests",
        lambda: thinned(real("azure_llm"), 0.05, 7),
    ),
    ("genai_1h", "Alibaba GenAI, hourly sums", lambda: coarser(real("alibaba_genai"), 60, "sum")),
    (
        "genai_10d_odd",
        "Alibaba GenAI, 10 days per minute from 21:40",
        lambda: window(real("alibaba_genai"), 100.72, 240),
    ),
    (
        "genai_wake",
        "Alibaba GenAI, 14 h per minute: 13 idle hours, then the service wakes",
        lambda: window(real("alibaba_genai"), 9.65, 14),
    ),
    (
        "avm_x1e4",
        "Azure VM CPU x 1e4 (5 min)",
        lambda: with_values(real("azure_vm"), real("azure_vm").values * 1e4),
    ),
    ("avm_1h", "Azure VM CPU, hourly means", lambda: coarser(real("azure_vm"), 12, "mean")),
    (
        "google_x1e-4",
        "Google CPU x 1e-4 (5 min)",
        lambda: with_values(real("google"), real("google").values * 1e-4),
    ),
    (
        "cluster_shift",
        "Alibaba cluster CPU, 3 days from 02:30, x1.5 from the middle",
        lambda: level_shift(window(real("alibaba_cluster"), 50.5, 72), 1.5),
    ),
    (
        "google_export",
        "Google CPU, 7 days (5 min) as an export writes it: no time zone, 8 rows missing",
        lambda: rows_lost(window(real("google"), 30, 168), 8, 5),
    ),
    (
        "google_jitter",
        "Google CPU, 7 days (5 min) scraped with jitter: timestamps up to 5 s off the grid",
        lambda: jittered(window(real("google"), 30, 168), 5, 11),
    ),
    (
        "constant",
        "a constant series (must be refused by forecasting)",
        lambda: with_values(window(real("google"), 0, 24), np.full(288, 42.0)),
    ),
    (
        "all_zero",
        "all zeros (must be refused by both)",
        lambda: with_values(window(real("google"), 0, 24), np.zeros(288)),
    ),
]


def horizon_for(trace: Trace) -> int:
    """An hour ahead below hourly data, a day ahead at 1 h, at most a tenth of the trace."""
    ahead = 24 if trace.interval_s >= 3600 else 3600 // trace.interval_s
    return max(1, min(ahead, len(trace) // 10))


def write_csv(trace: Trace, path: Path, *, zone: bool = True) -> None:
    """The trace in the shared format: `timestamp,value`, ISO-8601 UTC (`zone`: with its Z)."""
    stamps = np.datetime_as_string(trace.timestamps.astype("datetime64[s]"), unit="s")
    if not zone:  # a space for the T and no zone, as many exports write them
        stamps = np.char.replace(stamps, "T", " ")
    suffix = "Z" if zone else ""
    rows = "\n".join(
        f"{t}{suffix},{v!r}" for t, v in zip(stamps, trace.values.tolist(), strict=True)
    )
    path.write_text(f"timestamp,value\n{rows}\n")


def run_cli(args: list[str], out: Path) -> tuple[int, float, dict | None, str]:
    """(exit status, seconds, JSON report or None, last line of stderr)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", *args, "--json", str(out)], capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    report = json.loads(out.read_text()) if done.returncode == 0 else None
    message = (done.stderr.strip().splitlines() or [""])[-1]
    return done.returncode, seconds, report, message


def forecasting_cell(report: dict | None, message: str, horizon: int) -> str:
    """Auto's choice and scores beside seasonal naive's, or the refusal."""
    if report is None:
        return f"refused: {message}"
    auto = report["auto"]
    naive = report["models"]["seasonal_naive"]["mase"]
    filled = report.get("filled_intervals", 0)
    regridded = report.get("regridded_rows", 0)
    return (
        f"H {horizon}: auto {auto['chosen']}, MASE {fmt(auto['mase'])} "
        f"(seasonal naive {fmt(naive)}), coverage {fmt(auto['coverage_90'])}"
        + (f"; {filled} missing intervals filled" if filled else "")
        + (f"; {regridded} rows put on the grid" if regridded else "")
    )


def simulation_cell(report: dict | None, message: str) -> str:
    """Ballast's lateness and cost over the oracle, the worst policy, the notes; or the refusal."""
    if report is None:
        return f"refused: {message}"
    policies = report["policies"]
    ballast, oracle = policies["ballast"], policies["oracle"]
    ratio = ballast["cost_usd"] / oracle["cost_usd"] if oracle["cost_usd"] else math.nan
    worst = max(policies, key=lambda name: policies[name]["sla_violation_rate"])
    notes = "; ".join(report["scenario"]["notes"])
    return (
        f"ballast {100 * ballast['sla_violation_rate']:.2f} % late, {fmt(ratio)} x oracle; "
        f"worst {worst} {100 * policies[worst]['sla_violation_rate']:.1f} %"
        + (f"; note: {notes}" if notes else "")
    )


def fmt(value: float | None) -> str:
    """Three decimals, or n/a."""
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.3f}"


ZONELESS = {"google_export"}  # variants written without a time zone


def main() -> int:
    """Run every variant through both CLIs and write the document."""
    lines = [
        "# Robustness on derived traces",
        "",
        f"Command: `{COMMAND}` (seed 0). Machine: {describe_machine()}. Each row is a variant "
        "of a real trace in data/traces (see the script for how it is derived), run through "
        "`python -m forecasting backtest --trace F --horizon H` (every model and auto, 5 folds) "
        "and `python -m simulation compare --trace F` (every policy, default scenario) as "
        "separate processes; times are wall seconds of each process, start-up included. "
        "Figures repeat on one machine; where auto picks or weighs the LSTM they move between "
        "processors, as torch's CPU kernels differ (see forecasting.md).",
        "",
        "| variant | rows x interval | forecasting | s | simulation | s |",
        "|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        for name, description, build in VARIANTS:
            trace = build()
            path = Path(scratch) / f"{name}.csv"
            write_csv(trace, path, zone=name not in ZONELESS)
            horizon = horizon_for(trace)
            fc = run_cli(
                ["forecasting", "backtest", "--trace", str(path), "--horizon", str(horizon)],
                Path(scratch) / f"{name}.fc.json",
            )
            sim = run_cli(
                ["simulation", "compare", "--trace", str(path)], Path(scratch) / f"{name}.sim.json"
            )
            lines.append(
                f"| {name}: {description} | {len(trace)} x {trace.interval_s} s "
                f"| {forecasting_cell(fc[2], fc[3], horizon)} (exit {fc[0]}) | {fc[1]:.1f} "
                f"| {simulation_cell(sim[2], sim[3])} (exit {sim[0]}) | {sim[1]:.1f} |"
            )
            print(name, fc[0], f"{fc[1]:.1f}", sim[0], f"{sim[1]:.1f}", flush=True)
    OUTPUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
