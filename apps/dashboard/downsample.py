"""Largest-Triangle-Three-Buckets downsampling of long series for display.

Uses tsdownsample's LTTB (Rust, maintained by predict-idlab): a 30-day per-minute series (43,200
points) becomes 2,000 points that keep its peaks and troughs in a few milliseconds.
"""

import numpy as np
from tsdownsample import LTTBDownsampler

DISPLAY_POINTS = 2_000


def lttb(
    x: np.ndarray, y: np.ndarray, n_out: int = DISPLAY_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """The LTTB selection of (x, y); series of at most `n_out` points come back unchanged.

    Args:
        x: strictly increasing positions (epoch seconds, say), shape (n,).
        y: values, shape (n,), finite.
        n_out: points to keep, >= 3; the first and last points are always kept.

    Returns:
        (x, y) of the kept points, each shape (min(n, n_out),).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-d of one length, got {x.shape} and {y.shape}")
    if n_out < 3:
        raise ValueError(f"n_out must be >= 3, got {n_out}")
    if len(x) <= n_out:
        return x, y
    index = LTTBDownsampler().downsample(x, y, n_out=n_out)
    return x[index], y[index]
