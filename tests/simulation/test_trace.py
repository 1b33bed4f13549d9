import numpy as np
import pytest

from simulation.trace import load_trace, resample
from tests.simulation.conftest import TRACES, write_trace


def test_finer_trace_is_averaged_per_step():
    rate = np.array([1.0, 3.0, 5.0, 7.0])
    assert resample(rate, 30, 60).tolist() == [2.0, 6.0]


def test_coarser_trace_is_interpolated_between_midpoints():
    out = resample(np.array([0.0, 10.0]), 300, 60)
    assert len(out) == 10
    assert out[0] == 0.0 and out[-1] == 10.0
    assert out[4] == pytest.approx(4.0)  # 270 s is 4/10 of the way from 150 s to 450 s


def test_shape_is_scaled_to_the_peak(tmp_path):
    path = write_trace(tmp_path / "t.csv", [10, 20, 40, 20])
    load = load_trace(path, step_s=60, peak_rps=1000)
    assert load.rps.tolist() == [250.0, 500.0, 1000.0, 500.0]
    assert load.peak_to_median == pytest.approx(40 / 20)


def test_cpu_level_trace_is_used_as_a_shape():
    load = load_trace(TRACES / "google_cluster2019_cpu_5min.csv", step_s=300, peak_rps=2000)
    assert load.rps.max() == pytest.approx(2000)
    assert len(load.rps) == 8064 and load.source_interval_s == 300


def test_trace_shorter_than_a_step_is_refused(tmp_path):
    path = write_trace(tmp_path / "t.csv", [1, 2], interval_s=10)
    with pytest.raises(ValueError, match="shorter than one 60 s step"):
        load_trace(path)


def test_all_zero_trace_is_refused(tmp_path):
    path = write_trace(tmp_path / "t.csv", [0, 0, 0])
    with pytest.raises(ValueError, match="every value is 0"):
        load_trace(path)


def test_start_time_of_day_is_kept(tmp_path):
    path = write_trace(tmp_path / "t.csv", [1, 2, 3], start="2024-01-01T18:15:00")
    assert load_trace(path).start_s == 18 * 3600 + 15 * 60
