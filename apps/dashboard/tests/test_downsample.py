"""LTTB downsampling keeps the shape of long series in few points."""

import numpy as np
import pytest

from apps.dashboard.downsample import lttb


def test_it_picks_the_largest_triangles_of_a_hand_computed_case():
    # 7 points to 4: first and last kept; buckets {1, 2} and {3, 4, 5}. Bucket 1 against a=(0, 0)
    # and the next bucket's mean (4, 2): areas |(0-4)(y-0) - (0-x)(2-0)| are 2 for (1, 1) and 4
    # for (2, 0), so index 2. Bucket 2 against a=(2, 0) and c=(6, 0): 20 for (3, 5), 0 for
    # (4, 0), 4 for (5, 1), so index 3.
    x = np.arange(7.0)
    y = np.array([0, 1, 0, 5, 0, 1, 0], dtype=float)
    kept_x, kept_y = lttb(x, y, n_out=4)
    assert kept_x.tolist() == [0, 2, 3, 6]
    assert kept_y.tolist() == [0, 0, 5, 0]


def test_a_short_series_comes_back_unchanged():
    x, y = np.arange(5.0), np.arange(5.0) ** 2
    kept_x, kept_y = lttb(x, y, n_out=10)
    assert kept_x.tolist() == x.tolist() and kept_y.tolist() == y.tolist()


def test_a_month_of_minutes_keeps_its_peak_in_2000_points():
    x = np.arange(43_200.0) * 60
    y = np.sin(np.arange(43_200) / 1440 * 2 * np.pi)
    y[12_345] = 50.0
    kept_x, kept_y = lttb(x, y)
    assert len(kept_x) == 2000 and kept_x[0] == 0 and kept_x[-1] == x[-1]
    assert kept_y.max() == 50.0


def test_it_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="x and y"):
        lttb(np.arange(3.0), np.arange(4.0))
