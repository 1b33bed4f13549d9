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


def test_jittered_points_go_to_their_nearest_instant_on_the_median_steps_grid():
    # Scraped every 300 s give or take a few seconds: no common step, the median one is 300.
    epoch = np.arange(0, 300 * 50, 300) + np.tile([0, 3, -2, 1, 4], 10)
    epoch[0] = 0
    series = regularize(epoch, np.arange(50.0))

    assert (series.interval_s, series.start_s, series.filled) == (300, 0, 0)
    assert series.regridded == 40  # every point but the ten exactly on an instant
    # Over a long series the jittered median step (303 s here) would drift off the points.
    assert np.median(np.diff(epoch)) != 300
    assert np.array_equal(series.values, np.arange(50.0))


def test_irregular_points_are_averaged_per_interval_and_empty_ones_filled():
    # A sensor sampled every 60 to 300 s: on the 60 s median step, points meeting at one
    # instant are averaged; an instant none fell on is filled like a missing interval.
    epoch = np.concatenate([np.arange(0, 60 * 100, 60), [6030, 6060, 6120, 6240, 6300]])
    values = np.concatenate([np.full(100, 10.0), [20.0, 40.0, 50.0, 70.0, 80.0]])
    series = regularize(epoch, values)

    assert series.interval_s == 60 and len(series.values) == 106
    assert series.values[101] == 30.0  # 6030 s (rounded up to 6060 s at the tie) meets 6060 s
    assert series.values[100:106].tolist() == [20.0, 30.0, 50.0, 60.0, 70.0, 80.0]
    assert (series.filled, series.regridded) == (2, 2)  # 6000 s and 6180 s had no point


def test_a_point_between_two_grid_steps_is_averaged_into_the_nearest_one():
    series = regularize(np.array([0, 60, 120, 150, 180, 240]), np.array([1.0, 2, 3, 9, 5, 6]))

    assert series.interval_s == 60 and series.values.tolist() == [1.0, 2.0, 3.0, 7.0, 6.0]
    assert (series.filled, series.regridded) == (0, 2)


def test_timestamps_out_of_order_are_refused():
    with pytest.raises(SeriesError, match="strictly increase"):
        regularize(np.array([0, 60, 60, 120]), np.ones(4))


def test_no_history_is_refused():
    with pytest.raises(SeriesError, match="import some history first"):
        regularize(np.array([], dtype=np.int64), np.array([]))


def test_an_unusual_interval_is_the_median_step_rounded():
    epoch = np.cumsum(np.tile([47, 50, 52, 49, 53], 20))  # a 50 s median, no usual step near
    series = regularize(epoch, np.ones(100))

    assert series.interval_s == 50 and series.filled == 0
