"""Optimal merge of pre-bins under constraints: a dynamic program and an exact MILP.

The problem: ``n`` ordered pre-bins with non-event / event counts are to be merged into
contiguous bins that maximise an objective (information value by default) subject to

* every bin holding at least ``min_count`` rows, ``min_event`` events, ``min_nonevent``
  non-events (a bin with no events or no non-events has no finite WoE, so both are ≥ 1);
* at most ``max_bins`` bins;
* the event rate following a trend across bins: ``ascending``, ``descending``, ``peak`` (rises
  then falls), ``valley`` (falls then rises) or ``none``; a monotone step must differ by more
  than ``min_rate_diff``.

IV, Jensen–Shannon, Hellinger and chi-square are sums over bins, so the best partition whose
last bin is ``[i, j]`` only depends on the best partition of the prefix ``[0, i)`` whose last
bin is compatible with ``[i, j]``. The dynamic program below enumerates exactly those states
(end, start of last bin, bins used, phase of a peak/valley), so it is exact, not a heuristic:
it returns the optimum over all contiguous partitions, the same one the MILP returns
(`solve_milp`, scipy's HiGHS), which the tests check against brute force. KS is a maximum over
cut points, handled by the same program with ``max`` in place of ``+``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from fengkong.errors import InvalidArgumentError

__all__ = ["OBJECTIVES", "TRENDS", "Constraints", "bin_scores", "solve_dp", "solve_milp"]

TRENDS = ("ascending", "descending", "peak", "valley", "none")
OBJECTIVES = ("iv", "js", "hellinger", "chi2", "ks")
_TREND_CODE = {name: code for code, name in enumerate(TRENDS)}
_NEG = -np.inf


@dataclass(frozen=True, slots=True)
class Constraints:
    """What a merged bin and the whole binning must satisfy (see the module docstring)."""

    max_bins: int | None = None
    min_count: int = 1
    min_event: int = 1
    min_nonevent: int = 1
    trend: str = "none"
    min_rate_diff: float = 0.0

    def __post_init__(self) -> None:
        if self.trend not in TRENDS:
            raise InvalidArgumentError(
                "monotonic_trend", expected=f"one of {TRENDS}", got=self.trend
            )
        if self.max_bins is not None and self.max_bins < 1:
            raise InvalidArgumentError("max_n_bins", expected="an integer >= 1", got=self.max_bins)


def bin_scores(
    nonevent: np.ndarray,
    event: np.ndarray,
    total_nonevent: float,
    total_event: float,
    objective: str,
    constraints: Constraints,
) -> tuple[np.ndarray, np.ndarray]:
    """Score and event rate of every candidate bin ``[i, j]`` (``-inf`` where infeasible).

    ``total_*`` are the counts the shares are taken of (the whole column, missing and special
    rows included, so the scores add up to the table's IV).
    """
    if objective not in OBJECTIVES:
        raise InvalidArgumentError("objective", expected=f"one of {OBJECTIVES}", got=objective)
    cne = np.concatenate([[0.0], np.cumsum(nonevent, dtype=np.float64)])
    cev = np.concatenate([[0.0], np.cumsum(event, dtype=np.float64)])
    ne = cne[None, 1:] - cne[:-1, None]  # [i, j] -> rows i..j
    ev = cev[None, 1:] - cev[:-1, None]
    upper = np.triu(np.ones(ne.shape, dtype=bool))
    feasible = (
        upper
        & (ne + ev >= constraints.min_count)
        & (ev >= max(constraints.min_event, 1))
        & (ne >= max(constraints.min_nonevent, 1))
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        pg = ne / total_nonevent
        pb = ev / total_event
        rate = ev / (ne + ev)
        if objective == "iv":
            score = (pg - pb) * np.log(pg / pb)
        elif objective == "js":
            m = (pg + pb) / 2
            score = 0.5 * (pg * np.log(pg / m) + pb * np.log(pb / m))
        elif objective == "hellinger":
            score = (np.sqrt(pg) - np.sqrt(pb)) ** 2
        elif objective == "chi2":
            total = total_nonevent + total_event
            n = ne + ev
            e_ne = n * total_nonevent / total
            e_ev = n * total_event / total
            score = (ne - e_ne) ** 2 / e_ne + (ev - e_ev) ** 2 / e_ev
        else:  # ks: the cut after bin j, measured on the clean rows' cumulative shares
            g_cum = cne[1:] / cne[-1]
            b_cum = cev[1:] / cev[-1]
            score = np.broadcast_to(np.abs(g_cum - b_cum)[None, :], ne.shape).copy()
    score = np.where(feasible, score, _NEG)
    return score, np.where(upper, rate, np.nan)


@njit(cache=True, nogil=True)
def _step_ok(trend: int, r1: float, r2: float, diff: float, phase_prev: int) -> int:  # noqa: PLR0911
    """The phase after a step from rate r1 to r2, or -1 if the trend forbids the step."""
    up = r2 > r1 + diff
    down = r2 < r1 - diff
    if trend == 0:  # ascending
        return 0 if up else -1
    if trend == 1:  # descending
        return 0 if down else -1
    if trend == 2:  # peak: up* then down*
        if up:
            return 0 if phase_prev == 0 else -1
        return 1 if down else -1
    if trend == 3:  # valley: down* then up*
        if down:
            return 0 if phase_prev == 0 else -1
        return 1 if up else -1
    return 0


@njit(cache=True, nogil=True)
def _dp(
    score: np.ndarray,
    rate: np.ndarray,
    max_bins: int,
    trend: int,
    diff: float,
    use_max: bool,
) -> np.ndarray:
    n = score.shape[0]
    neg = -np.inf
    best = np.full((max_bins + 1, n, n, 2), neg)
    back_h = np.full((max_bins + 1, n, n, 2), -1, dtype=np.int64)
    back_p = np.full((max_bins + 1, n, n, 2), -1, dtype=np.int64)
    for j in range(n):
        best[1, j, 0, 0] = score[0, j]
    for k in range(2, max_bins + 1):
        for j in range(n):
            for i in range(1, j + 1):
                s = score[i, j]
                if s == neg:
                    continue
                r2 = rate[i, j]
                for h in range(i):
                    r1 = rate[h, i - 1]
                    for pp in range(2):
                        prev = best[k - 1, i - 1, h, pp]
                        if prev == neg:
                            continue
                        p = _step_ok(trend, r1, r2, diff, pp)
                        if p < 0:
                            continue
                        val = max(prev, s) if use_max else prev + s
                        if val > best[k, j, i, p]:
                            best[k, j, i, p] = val
                            back_h[k, j, i, p] = h
                            back_p[k, j, i, p] = pp
    # pick the best end state (fewest bins wins ties: k ascending with strict >)
    bk, bi, bp = -1, -1, -1
    bval = neg
    for k in range(1, max_bins + 1):
        for i in range(n):
            for p in range(2):
                if best[k, n - 1, i, p] > bval + 1e-12:
                    bval = best[k, n - 1, i, p]
                    bk, bi, bp = k, i, p
    if bk < 0:
        return np.empty(0, dtype=np.int64)
    starts = np.empty(bk, dtype=np.int64)
    j, i, p, k = n - 1, bi, bp, bk
    while k >= 1:
        starts[k - 1] = i
        if k == 1:
            break
        h = back_h[k, j, i, p]
        pp = back_p[k, j, i, p]
        j, i, p, k = i - 1, h, pp, k - 1
    return starts


def _check_counts(nonevent: np.ndarray, event: np.ndarray) -> int:
    n = len(nonevent)
    if n != len(event) or n == 0:
        raise InvalidArgumentError("pre-bins", expected="matching, non-empty count arrays", got=n)
    return n


def solve_dp(
    nonevent: np.ndarray,
    event: np.ndarray,
    constraints: Constraints,
    *,
    objective: str = "iv",
    totals: tuple[float, float] | None = None,
) -> np.ndarray:
    """Start index of every merged bin in the optimal partition (empty if none is feasible).

    >>> solve_dp(np.array([50, 40, 30, 20]), np.array([1, 2, 6, 9]), Constraints(trend="ascending"))
    array([0, 1, 2, 3])
    >>> solve_dp(np.array([50, 40, 30, 20]), np.array([1, 2, 6, 9]),
    ...          Constraints(trend="ascending", max_bins=2))
    array([0, 2])
    """
    n = _check_counts(nonevent, event)
    tne, tev = totals if totals is not None else (float(nonevent.sum()), float(event.sum()))
    score, rate = bin_scores(nonevent, event, tne, tev, objective, constraints)
    max_bins = min(constraints.max_bins or n, n)
    return _dp(
        score,
        np.nan_to_num(rate),
        max_bins,
        _TREND_CODE[constraints.trend],
        float(constraints.min_rate_diff),
        objective == "ks",
    )


def solve_milp(
    nonevent: np.ndarray,
    event: np.ndarray,
    constraints: Constraints,
    *,
    objective: str = "iv",
    totals: tuple[float, float] | None = None,
    time_limit: float = 60.0,
) -> np.ndarray:
    """The same problem as :func:`solve_dp` solved as a mixed-integer program (HiGHS).

    One binary per feasible candidate bin, an equality per pre-bin (covered exactly once), a
    bound on the number of bins, and per adjacent pair of candidates a conflict constraint when
    their rates break the trend; a peak or valley adds a monotone phase variable per boundary.
    Additive objectives only (not ``ks``).

    >>> solve_milp(np.array([50, 40, 30, 20]), np.array([1, 2, 6, 9]),
    ...            Constraints(trend="ascending", max_bins=2))
    array([0, 2])
    """
    if objective == "ks":
        raise InvalidArgumentError("objective", expected="an additive objective for milp", got="ks")
    n = _check_counts(nonevent, event)
    tne, tev = totals if totals is not None else (float(nonevent.sum()), float(event.sum()))
    score, rate = bin_scores(nonevent, event, tne, tev, objective, constraints)
    cand = [(i, j) for i in range(n) for j in range(i, n) if np.isfinite(score[i, j])]
    if not cand:
        return np.empty(0, dtype=np.int64)
    m = len(cand)
    trend = constraints.trend
    phased = trend in ("peak", "valley")
    n_phase = (n - 1) if phased else 0
    nvar = m + n_phase
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    lo: list[float] = []
    hi: list[float] = []

    def add(entries: list[tuple[int, float]], low: float, high: float) -> None:
        r = len(lo)
        for c, v in entries:
            rows.append(r)
            cols.append(c)
            vals.append(v)
        lo.append(low)
        hi.append(high)

    for t in range(n):  # every pre-bin covered exactly once
        add([(c, 1.0) for c, (i, j) in enumerate(cand) if i <= t <= j], 1.0, 1.0)
    add([(c, 1.0) for c in range(m)], 1.0, float(constraints.max_bins or n))
    for t in range(n_phase - 1):  # the phase switches once: d_t <= d_{t+1}
        add([(m + t, 1.0), (m + t + 1, -1.0)], -np.inf, 0.0)
    ends: dict[int, list[int]] = {}
    starts: dict[int, list[int]] = {}
    for c, (i, j) in enumerate(cand):
        ends.setdefault(j, []).append(c)
        starts.setdefault(i, []).append(c)
    d = constraints.min_rate_diff
    for t in range(n - 1):
        for a in ends.get(t, []):
            r1 = rate[cand[a][0], cand[a][1]]
            for b in starts.get(t + 1, []):
                r2 = rate[cand[b][0], cand[b][1]]
                up, down = r2 > r1 + d, r2 < r1 - d
                if trend == "none":
                    continue
                if trend in ("ascending", "descending"):
                    if (trend == "ascending" and not up) or (trend == "descending" and not down):
                        add([(a, 1.0), (b, 1.0)], -np.inf, 1.0)
                    continue
                first, second = (up, down) if trend == "peak" else (down, up)
                if first:  # allowed only before the switch: x_a + x_b - 1 <= 1 - d_t
                    add([(a, 1.0), (b, 1.0), (m + t, 1.0)], -np.inf, 2.0)
                elif second:  # allowed only after the switch: x_a + x_b - 1 <= d_t
                    add([(a, 1.0), (b, 1.0), (m + t, -1.0)], -np.inf, 1.0)
                else:
                    add([(a, 1.0), (b, 1.0)], -np.inf, 1.0)
    a_mat = coo_array((vals, (rows, cols)), shape=(len(lo), nvar)).tocsr()
    c_vec = np.zeros(nvar)
    c_vec[:m] = -np.array([score[i, j] for i, j in cand])
    res = milp(
        c_vec,
        constraints=LinearConstraint(a_mat, lo, hi),
        integrality=np.ones(nvar),
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit},
    )
    if res.x is None:
        return np.empty(0, dtype=np.int64)
    chosen = sorted(cand[c][0] for c in range(m) if res.x[c] > 0.5)
    return np.array(chosen, dtype=np.int64)
