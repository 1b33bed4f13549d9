import numpy as np
import pytest

from forecasting.base import SeriesError
from forecasting.history import regularize


def test_a_complete_series_passes_unchanged():
    series = regularize(np.arange(0, 6000, 60), np.arange(100.0))

    assert series.interval_s == 60 and series.filled == 0
    assert np.array_equal(series.values, np.arange(100.0))


def test_short_gaps_are_filled_linearly():
    epoch = np.delete(np.arange(0, 60 * 200, 60), [50, 51])
    values = np.delete(np.arange(200.0), [50, 51])

    series = regularize(epoch, values)

    assert series.filled == 2 and len(series.values) == 200
    assert np.allclose(series.values, np.arange(200.0))


def test_a_long_gap_is_refused_with_its_size():
    epoch = np.delete(np.arange(0, 60 * 200, 60), range(50, 60))

    with pytest.raises(SeriesError, match="the longest gap is 10 intervals of 60s"):
        regularize(epoch, np.ones(len(epoch)))


def test_points_off_the_grid_are_refused():
    with pytest.raises(SeriesError, match="not on one regular grid"):
        regularize(np.array([0, 60, 120, 150, 210]), np.ones(5))


def test_no_history_is_refused():
    with pytest.raises(SeriesError, match="import some history first"):
        regularize(np.array([], dtype=np.int64), np.array([]))
