"""Row-to-bin assignment and counting kernels shared by fitting, transforming and scoring."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from numba import njit

from fengkong.errors import InvalidArgumentError

if TYPE_CHECKING:
    from fengkong.modeling.table import BinningTable

__all__ = ["assign_categorical", "assign_numeric", "bin_numeric", "count_bins"]


_LINEAR_MAX_EDGES = 64


@njit(cache=True, nogil=True)
def _regular_bins(x: np.ndarray, edges: np.ndarray, out: np.ndarray) -> None:
    """``searchsorted(edges, x, 'right')``: a branch-free count for few edges, else bisection."""
    m = edges.shape[0]
    if m <= _LINEAR_MAX_EDGES:
        for r in range(x.shape[0]):
            v = x[r]
            k = 0
            for e in range(m):
                k += v >= edges[e]
            out[r] = k
        return
    for r in range(x.shape[0]):
        v = x[r]
        lo, hi = 0, m
        while lo < hi:
            mid = (lo + hi) >> 1
            if edges[mid] <= v:
                lo = mid + 1
            else:
                hi = mid
        out[r] = lo


@njit(cache=True, nogil=True)
def bin_numeric(x: np.ndarray, edges: np.ndarray, specials: np.ndarray) -> np.ndarray:
    """Index per value: ``searchsorted(edges, x, 'right')``, then one bin per special, then missing."""
    n_regular = edges.shape[0] + 1
    n_special = specials.shape[0]
    out = np.empty(x.shape[0], dtype=np.int32)
    _regular_bins(x, edges, out)
    for r in range(x.shape[0]):
        v = x[r]
        if np.isnan(v):
            out[r] = n_regular + n_special
            continue
        for s in range(n_special):
            if v == specials[s]:
                out[r] = n_regular + s
                break
    return out


@njit(cache=True, nogil=True)
def count_bins(idx: np.ndarray, y: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-event and event counts per bin index."""
    ne = np.zeros(n_bins, dtype=np.int64)
    ev = np.zeros(n_bins, dtype=np.int64)
    for r in range(idx.shape[0]):
        if y[r]:
            ev[idx[r]] += 1
        else:
            ne[idx[r]] += 1
    return ne, ev


def assign_numeric(table: BinningTable, x: np.ndarray) -> np.ndarray:
    """Bins of a numeric table for a float array (NaN is missing)."""
    return bin_numeric(
        np.ascontiguousarray(x, dtype=np.float64),
        np.asarray(table.splits, dtype=np.float64),
        np.asarray(table.specials, dtype=np.float64),
    )


def category_map(table: BinningTable) -> dict[str, int]:
    """Level -> bin index for a categorical table (specials included)."""
    mapping = {level: k for k, group in enumerate(table.groups) for level in group}
    for s, value in enumerate(table.specials):
        mapping[str(value)] = table.n_regular + s
    return mapping


def as_strings(values: Sequence[Any] | np.ndarray | pl.Series) -> pl.Series:
    """Values as a Polars string series (nulls stay null; NaN floats become null)."""
    s = values if isinstance(values, pl.Series) else pl.Series(values=list(values), strict=False)
    if s.dtype.is_float():
        s = s.fill_nan(None)
        s = s.cast(pl.String)
    elif s.dtype != pl.String:
        s = s.cast(pl.String)
    return s


def assign_categorical(
    table: BinningTable, values: Sequence[Any] | np.ndarray | pl.Series, *, unknown: str = "missing"
) -> np.ndarray:
    """Bins of a categorical table; unseen levels go where ``unknown`` says."""
    if unknown not in ("missing", "worst", "error"):
        raise InvalidArgumentError("unknown", expected="missing, worst or error", got=unknown)
    s = as_strings(values)
    mapping = category_map(table)
    mapped = s.replace_strict(mapping, default=-1, return_dtype=pl.Int32)
    idx = mapped.fill_null(table.missing_index).to_numpy().astype(np.int32, copy=False)
    unseen = idx == -1
    if unseen.any():
        if unknown == "error":
            levels = sorted(set(s.filter(pl.Series(unseen)).to_list()))[:10]
            raise InvalidArgumentError(
                table.name,
                expected=f"a level seen in fitting ({len(mapping)} known)",
                got=levels,
            )
        idx = np.array(idx)
        idx[unseen] = table.missing_index if unknown == "missing" else table.worst_regular_bin()
    return idx
