"""Compiled sliding-window kernels (Numba) for the batch engine.

Every kernel walks *targets* in order of (entity key, time): within one key the window
``[start, end)`` over that key's sorted events only moves forward, so each runs in
O(events + targets). ``gstart[i]`` is the index of the first event of target ``i``'s key,
``end[i]`` the first event the target may not see.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = ["sliding_distinct", "sliding_extreme", "window_starts"]

I64 = npt.NDArray[np.int64]


@njit(cache=True, nogil=True)
def window_starts(ev_ts: I64, gstart: I64, end: I64, lower: I64) -> I64:  # pragma: no cover
    """First event index at or after ``lower[i]`` in ``[gstart[i], end[i])`` (``end[i]`` if none)."""
    n = len(end)
    out = np.empty(n, np.int64)
    j = -1
    group = -1
    for i in range(n):
        if gstart[i] != group:
            group = gstart[i]
            j = group
        while j < end[i] and ev_ts[j] < lower[i]:
            j += 1
        out[i] = j if j < end[i] else end[i]
    return out


@njit(cache=True, nogil=True)
def sliding_distinct(
    codes: I64, n_codes: int, gstart: I64, start: I64, end: I64
) -> npt.NDArray[np.int32]:  # pragma: no cover
    """Distinct non-negative codes among events ``[start[i], end[i])`` (``-1`` is null, skipped)."""
    n = len(end)
    out = np.empty(n, np.int32)
    counts = np.zeros(n_codes, np.int32)
    lo = 0
    hi = 0
    distinct = 0
    group = -1
    for i in range(n):
        if gstart[i] != group:
            for j in range(lo, hi):
                c = codes[j]
                if c >= 0:
                    counts[c] -= 1
            group = gstart[i]
            lo = group
            hi = group
            distinct = 0
        while hi < end[i]:
            c = codes[hi]
            if c >= 0:
                if counts[c] == 0:
                    distinct += 1
                counts[c] += 1
            hi += 1
        while lo < start[i]:
            c = codes[lo]
            if c >= 0:
                counts[c] -= 1
                if counts[c] == 0:
                    distinct -= 1
            lo += 1
        out[i] = distinct
    return out


@njit(cache=True, nogil=True)
def sliding_extreme(
    values: I64, valid: npt.NDArray[np.bool_], gstart: I64, start: I64, end: I64, largest: bool
) -> tuple[I64, npt.NDArray[np.bool_]]:  # pragma: no cover
    """Min (or max) of valid values in ``[start[i], end[i])`` with a monotone deque."""
    n = len(end)
    out = np.zeros(n, np.int64)
    has = np.zeros(n, np.bool_)
    deque = np.empty(len(values) + 1, np.int64)
    head = 0
    tail = 0
    hi = 0
    group = -1
    for i in range(n):
        if gstart[i] != group:
            group = gstart[i]
            head = 0
            tail = 0
            hi = group
        while hi < end[i]:
            if valid[hi]:
                v = values[hi]
                while tail > head and (
                    (largest and values[deque[tail - 1]] <= v)
                    or (not largest and values[deque[tail - 1]] >= v)
                ):
                    tail -= 1
                deque[tail] = hi
                tail += 1
            hi += 1
        while tail > head and deque[head] < start[i]:
            head += 1
        if tail > head:
            out[i] = values[deque[head]]
            has[i] = True
    return out, has


@njit(cache=True, nogil=True)
def counting_order(codes: I64, lo: int, span: int) -> I64:  # pragma: no cover
    """Stable order of rows by integer ``codes`` in ``[lo, lo + span)``: a counting sort."""
    counts = np.zeros(span + 1, np.int64)
    for c in codes:
        counts[c - lo + 1] += 1
    for k in range(1, span + 1):
        counts[k] += counts[k - 1]
    out = np.empty(len(codes), np.int64)
    for i in range(len(codes)):
        k = codes[i] - lo
        out[counts[k]] = i
        counts[k] += 1
    return out


@njit(cache=True, nogil=True)
def group_bounds(
    codes: I64, ts: I64, perm: I64, inclusive: bool
) -> tuple[I64, I64, I64]:  # pragma: no cover
    """Sorted times, and per sorted row its key's first row and the first row it may not see.

    Rows are events that are also the targets: with an exclusive boundary a row sees the rows
    before its first tie in time; with an inclusive one, every row before it.
    """
    n = len(perm)
    ts_sorted = np.empty(n, np.int64)
    gstart = np.empty(n, np.int64)
    end = np.empty(n, np.int64)
    group = 0
    tie = 0
    for i in range(n):
        p = perm[i]
        ts_sorted[i] = ts[p]
        if i == 0 or codes[p] != codes[perm[i - 1]]:
            group = i
            tie = i
        elif ts_sorted[i] != ts_sorted[i - 1]:
            tie = i
        gstart[i] = group
        end[i] = i if inclusive else tie
    return ts_sorted, gstart, end


@njit(cache=True, nogil=True)
def scatter_count(
    start: I64, end: I64, rows: I64, n: int
) -> npt.NDArray[np.int32]:  # pragma: no cover
    """``end - start`` per target, written at the target's row (other rows 0)."""
    out = np.zeros(n, np.int32)
    for i in range(len(rows)):
        out[rows[i]] = end[i] - start[i]
    return out


@njit(cache=True, nogil=True)
def scatter_diff(prefix: I64, start: I64, end: I64, rows: I64, n: int) -> I64:  # pragma: no cover
    """Window sums from a prefix-sum array, written at each target's row."""
    out = np.zeros(n, np.int64)
    for i in range(len(rows)):
        out[rows[i]] = prefix[end[i]] - prefix[start[i]]
    return out


@njit(cache=True, nogil=True)
def scatter_ratio(
    num: I64, den: I64, start: I64, end: I64, rows: I64, n: int, by_count: bool
) -> npt.NDArray[np.float64]:  # pragma: no cover
    """Window ratio ``Δnum / Δden`` (``Δden`` = event count when ``by_count``); NaN when 0."""
    out = np.full(n, np.nan)
    for i in range(len(rows)):
        d = end[i] - start[i] if by_count else den[end[i]] - den[start[i]]
        if d > 0:
            out[rows[i]] = np.float64(num[end[i]] - num[start[i]]) / np.float64(d)
    return out


@njit(cache=True, nogil=True)
def scatter_std(
    total: I64, squares: I64, count: I64, start: I64, end: I64, rows: I64, n: int
) -> npt.NDArray[np.float64]:  # pragma: no cover
    """Population standard deviation from prefix sums, sums of squares and value counts."""
    out = np.full(n, np.nan)
    for i in range(len(rows)):
        k = count[end[i]] - count[start[i]]
        if k > 0:
            fn = np.float64(k)
            s = np.float64(total[end[i]] - total[start[i]])
            q = np.float64(squares[end[i]] - squares[start[i]])
            out[rows[i]] = np.sqrt(max((q - s * s / fn) / fn, 0.0))
    return out


@njit(cache=True, nogil=True)
def scatter_days(
    ev_ts: I64, t: I64, start: I64, end: I64, rows: I64, n: int, first: bool, day: int
) -> npt.NDArray[np.float64]:  # pragma: no cover
    """Days from the first (or latest) event of the window to the target; NaN when empty."""
    out = np.full(n, np.nan)
    for i in range(len(rows)):
        if end[i] > start[i]:
            at = ev_ts[start[i]] if first else ev_ts[end[i] - 1]
            out[rows[i]] = np.float64(t[i] - at) / np.float64(day)
    return out
