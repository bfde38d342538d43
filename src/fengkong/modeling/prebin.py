"""Pre-binning: the fine cut points the optimal merge starts from.

* ``quantile``: cut points at equal-frequency quantiles (values that occur in the data);
* ``uniform``: equal-width cut points between the minimum and maximum;
* ``tree``: a one-variable classification tree grown best-first on a fine quantile grid
  (Gini gain, each leaf holding at least ``min_prebin_size`` of the rows), the default, as
  in optbinning and toad.

All three return sorted, unique cut points; a column with one distinct value has none.

>>> import numpy as np
>>> x = np.arange(100, dtype=float)
>>> y = (x > 69).astype(np.int8)
>>> prebin_numeric(x, y, method="tree", max_n_prebins=4, min_prebin_size=0.05).tolist()
[70.0]
>>> prebin_numeric(x, y, method="quantile", max_n_prebins=4).tolist()
[25.0, 50.0, 75.0]
"""

from __future__ import annotations

import heapq

import numpy as np

from fengkong.errors import InvalidArgumentError
from fengkong.modeling._assign import bin_numeric, count_bins

__all__ = ["PREBINNING_METHODS", "prebin_numeric", "tree_splits"]

PREBINNING_METHODS = ("tree", "quantile", "uniform")
_FINE_GRID = 100


def _quantile_edges(x: np.ndarray, k: int) -> np.ndarray:
    """Cut points at the k-quantiles, taken as data values so every cut is a real boundary."""
    if x.size == 0:
        return np.empty(0)
    q = np.quantile(x, np.linspace(0, 1, k + 1)[1:-1], method="higher")
    edges = np.unique(q)
    return edges[edges > x.min()] if edges.size else edges


def tree_splits(
    nonevent: np.ndarray, event: np.ndarray, *, max_leaves: int, min_leaf: float
) -> list[int]:
    """Best-first Gini splits over ordered fine bins: the fine-bin indices where leaves start.

    A leaf is split at the boundary with the largest Gini gain whose two sides each hold at
    least ``min_leaf`` rows; growth stops at ``max_leaves`` leaves or when no split gains.

    >>> tree_splits(np.array([10, 10, 1, 1]), np.array([1, 1, 10, 10]), max_leaves=4, min_leaf=1)
    [2]
    """
    ne = np.asarray(nonevent, dtype=np.float64)
    ev = np.asarray(event, dtype=np.float64)
    cne = np.concatenate([[0.0], np.cumsum(ne)])
    cev = np.concatenate([[0.0], np.cumsum(ev)])

    def gini_sum(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray | float:
        n = a + b
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, n - (a * a + b * b) / np.where(n > 0, n, 1), 0.0)

    def best(lo: int, hi: int) -> tuple[float, int]:
        if hi - lo < 2:
            return 0.0, -1
        cuts = np.arange(lo + 1, hi)
        lne, lev = cne[cuts] - cne[lo], cev[cuts] - cev[lo]
        rne, rev = cne[hi] - cne[cuts], cev[hi] - cev[cuts]
        ok = (lne + lev >= min_leaf) & (rne + rev >= min_leaf)
        if not ok.any():
            return 0.0, -1
        parent = float(gini_sum(cne[hi] - cne[lo], cev[hi] - cev[lo]))
        gain = parent - gini_sum(lne, lev) - gini_sum(rne, rev)
        gain = np.where(ok, gain, -np.inf)
        k = int(np.argmax(gain))
        return (float(gain[k]), int(cuts[k])) if gain[k] > 1e-12 else (0.0, -1)

    n = len(ne)
    heap: list[tuple[float, int, int, int]] = []
    g, c = best(0, n)
    if c >= 0:
        heapq.heappush(heap, (-g, c, 0, n))
    leaves = 1
    cuts_out: list[int] = []
    while heap and leaves < max_leaves:
        _, c, lo, hi = heapq.heappop(heap)
        cuts_out.append(c)
        leaves += 1
        for a, b in ((lo, c), (c, hi)):
            g, cc = best(a, b)
            if cc >= 0:
                heapq.heappush(heap, (-g, cc, a, b))
    return sorted(cuts_out)


def prebin_numeric(
    x: np.ndarray,
    y: np.ndarray,
    *,
    method: str = "tree",
    max_n_prebins: int = 20,
    min_prebin_size: float = 0.05,
) -> np.ndarray:
    """Pre-bin cut points for clean values ``x`` (no missing, no specials) with target ``y``."""
    if method not in PREBINNING_METHODS:
        raise InvalidArgumentError(
            "prebinning_method", expected=f"one of {PREBINNING_METHODS}", got=method
        )
    if x.size == 0:
        return np.empty(0)
    if method == "quantile":
        return _quantile_edges(x, max_n_prebins)
    if method == "uniform":
        lo, hi = float(x.min()), float(x.max())
        if lo == hi:
            return np.empty(0)
        return np.linspace(lo, hi, max_n_prebins + 1)[1:-1]
    fine = _quantile_edges(x, _FINE_GRID)
    if fine.size == 0:
        return fine
    idx = bin_numeric(x, fine, np.empty(0))
    ne, ev = count_bins(idx, y, fine.size + 1)
    starts = tree_splits(ne, ev, max_leaves=max_n_prebins, min_leaf=min_prebin_size * x.size)
    return fine[np.asarray(starts, dtype=np.int64) - 1] if starts else np.empty(0)
