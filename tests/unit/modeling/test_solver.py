"""The optimal merge: dynamic program and MILP against brute force over every partition."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fengkong.modeling._solver import TRENDS, Constraints, bin_scores, solve_dp, solve_milp


def _value(ne, ev, starts, c, objective):
    score, _ = bin_scores(ne, ev, ne.sum(), ev.sum(), objective, c)
    ends = [*(np.asarray(starts[1:]) - 1).tolist(), len(ne) - 1]
    parts = [score[i, j] for i, j in zip(starts, ends, strict=True)]
    return max(parts) if objective == "ks" else sum(parts)


def _shape_ok(rates, trend):
    d = np.diff(rates)
    if trend == "none":
        return True
    if trend == "ascending":
        return bool(np.all(d > 0))
    if trend == "descending":
        return bool(np.all(d < 0))
    if np.any(d == 0):
        return False
    first = d > 0 if trend == "peak" else d < 0
    # all of the "first" steps come before the others
    return bool(np.all(np.diff((~first).astype(int)) >= 0))


def _brute(ne, ev, c, objective):
    n = len(ne)
    score, rate = bin_scores(ne, ev, ne.sum(), ev.sum(), objective, c)
    best = -np.inf
    for mask in itertools.product([0, 1], repeat=n - 1):
        starts = [0] + [t + 1 for t in range(n - 1) if mask[t]]
        ends = [s - 1 for s in starts[1:]] + [n - 1]
        if c.max_bins and len(starts) > c.max_bins:
            continue
        if not all(np.isfinite(score[i, j]) for i, j in zip(starts, ends, strict=True)):
            continue
        if not _shape_ok([rate[i, j] for i, j in zip(starts, ends, strict=True)], c.trend):
            continue
        parts = [score[i, j] for i, j in zip(starts, ends, strict=True)]
        best = max(best, max(parts) if objective == "ks" else sum(parts))
    return best


counts = st.integers(1, 8).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 60), min_size=n, max_size=n),
        st.lists(st.integers(0, 20), min_size=n, max_size=n),
    )
)


@settings(max_examples=150, deadline=None)
@given(
    counts,
    st.sampled_from(TRENDS),
    st.integers(1, 6),
    st.integers(1, 40),
    st.sampled_from(["iv", "js", "hellinger", "chi2"]),
)
def test_dp_and_milp_reach_the_brute_force_optimum(data, trend, max_bins, min_count, objective):
    ne, ev = (np.array(v) for v in data)
    if ne.sum() == 0 or ev.sum() == 0:
        return
    c = Constraints(trend=trend, max_bins=max_bins, min_count=min_count)
    best = _brute(ne, ev, c, objective)
    for solver in (solve_dp, solve_milp):
        starts = solver(ne, ev, c, objective=objective)
        if best == -np.inf:
            assert starts.size == 0
        else:
            assert _value(ne, ev, starts, c, objective) == pytest.approx(best, rel=1e-9, abs=1e-12)


@settings(max_examples=80, deadline=None)
@given(counts, st.sampled_from(TRENDS))
def test_dp_maximises_ks(data, trend):
    ne, ev = (np.array(v) for v in data)
    if ne.sum() == 0 or ev.sum() == 0:
        return
    c = Constraints(trend=trend, max_bins=4)
    best = _brute(ne, ev, c, "ks")
    starts = solve_dp(ne, ev, c, objective="ks")
    if best == -np.inf:
        assert starts.size == 0
    else:
        assert _value(ne, ev, starts, c, "ks") == pytest.approx(best)


def test_solution_respects_every_constraint():
    rng = np.random.default_rng(3)
    ne = rng.integers(100, 1000, 20)
    ev = rng.integers(5, 80, 20)
    c = Constraints(trend="descending", max_bins=5, min_count=1500, min_event=60)
    starts = solve_dp(ne, ev, c)
    bounds = [*starts.tolist(), 20]
    sizes = [ne[a:b].sum() + ev[a:b].sum() for a, b in itertools.pairwise(bounds)]
    events = [ev[a:b].sum() for a, b in itertools.pairwise(bounds)]
    rates = [e / s for e, s in zip(events, sizes, strict=True)]
    assert len(sizes) <= 5
    assert min(sizes) >= 1500 and min(events) >= 60
    assert all(np.diff(rates) < 0)


def test_infeasible_problem_returns_nothing():
    assert solve_dp(np.array([5, 5]), np.array([0, 0]), Constraints()).size == 0
    assert solve_milp(np.array([5, 5]), np.array([0, 0]), Constraints()).size == 0


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="monotonic_trend"):
        Constraints(trend="up")
    with pytest.raises(ValueError, match="objective"):
        solve_milp(np.array([1, 2]), np.array([1, 1]), Constraints(), objective="ks")
