"""Compiled loops of the batch backend (Numba): scorecard points without temporaries."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["add_numeric_points"]


@njit(cache=True, nogil=True)
def add_numeric_points(
    x: np.ndarray,
    splits: np.ndarray,
    specials: np.ndarray,
    special_bins: np.ndarray,
    missing: int,
    points: np.ndarray,
    out: np.ndarray,
    column: int,
    total: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """``out[:, column] = points[bin]`` and ``total += points[bin]`` with the row scorer's
    bin: NaN to ``missing``, an exact special to its bin, else ``bisect_right(splits, x)``.
    ``x`` may be integers (no missing values) or floats (NaN for missing)."""
    n_splits = splits.shape[0]
    for i in range(x.shape[0]):
        v = x[i]
        if np.isnan(v):
            out[i, column] = points[missing]
            total[i] += points[missing]
            continue
        k = -1
        for q in range(specials.shape[0]):
            if v == specials[q]:
                k = special_bins[q]
                break
        if k < 0:
            lo, hi = 0, n_splits
            while lo < hi:  # bisect_right
                mid = (lo + hi) // 2
                if v < splits[mid]:
                    hi = mid
                else:
                    lo = mid + 1
            k = lo
        out[i, column] = points[k]
        total[i] += points[k]
