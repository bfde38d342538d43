"""Single-pass kernels over a panel sorted by loan and month (the shape ``monthly_panel`` returns).

Group-bys over millions of loan-months are the cost of the portfolio tables; when rows come
sorted by loan (and by month within a loan) each loan is a contiguous run, and one pass over
the rows gives what the group-by would.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["first_mob_at", "roll_amounts", "sorted_runs", "state_index"]


@njit(cache=True, nogil=True)
def sorted_runs(loan_id: np.ndarray, order: np.ndarray) -> tuple[bool, np.ndarray]:
    """Whether rows are sorted by loan and strictly by ``order`` within a loan, and run starts.

    Returns ``(False, empty)`` as soon as the rows are out of order.
    """
    n = loan_id.shape[0]
    starts = np.empty(n + 1, dtype=np.int64)
    k = 0
    for r in range(n):
        if r == 0 or loan_id[r] != loan_id[r - 1]:
            if r > 0 and loan_id[r] < loan_id[r - 1]:
                return False, np.empty(0, dtype=np.int64)
            starts[k] = r
            k += 1
        elif order[r] <= order[r - 1]:
            return False, np.empty(0, dtype=np.int64)
    starts[k] = n
    return True, starts[: k + 1].copy()


@njit(cache=True, nogil=True)
def first_mob_at(
    starts: np.ndarray, ends: np.ndarray, mob: np.ndarray, dpd: np.ndarray, thresholds: np.ndarray
) -> np.ndarray:
    """Per loan and threshold, the first MOB with DPD at or above it (-1 when never)."""
    out = np.full((thresholds.shape[0], starts.shape[0]), -1, dtype=np.int64)
    for i in range(starts.shape[0]):
        for r in range(starts[i], ends[i]):
            d = dpd[r]
            for k in range(thresholds.shape[0]):
                if out[k, i] < 0 and d >= thresholds[k]:
                    out[k, i] = mob[r]
    return out


@njit(cache=True, nogil=True)
def roll_amounts(
    loan_id: np.ndarray,
    month: np.ndarray,
    state: np.ndarray,
    weight: np.ndarray,
    closed: np.ndarray,
    first_month: int,
    last_month: int,
    n_states: int,
) -> np.ndarray:
    """Summed weight of every from→to move between consecutive months of the same open loan.

    ``month`` is a month index (year × 12 + month); a move lands at its later month, kept when
    that is within ``first_month``..``last_month``; ``weight`` is taken at the earlier month.
    """
    out = np.zeros((n_states, n_states), dtype=np.int64)
    for r in range(1, loan_id.shape[0]):
        if loan_id[r] != loan_id[r - 1] or month[r] != month[r - 1] + 1:
            continue
        if month[r] < first_month or month[r] > last_month:
            continue
        s = state[r - 1]
        if closed[s]:
            continue
        out[s, state[r]] += weight[r - 1]
    return out


@njit(cache=True, nogil=True)
def state_index(
    bucket: np.ndarray, status: np.ndarray, is_open: np.ndarray, closed_state: np.ndarray
) -> np.ndarray:
    """The state of each row: its bucket while the status is open, else the closed state."""
    out = np.empty(bucket.shape[0], dtype=np.int64)
    for r in range(bucket.shape[0]):
        s = status[r]
        out[r] = bucket[r] if is_open[s] else closed_state[s]
    return out
