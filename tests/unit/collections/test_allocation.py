"""Allocation: capacity and compatibility respected, the exact plan at least as good as the
greedy one (and equal to brute force on small cases), unserved tasks with their reason."""

import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fengkong.collections.allocation import allocate, allocate_greedy
from fengkong.errors import InvalidArgumentError


def _brute(values, needs, caps, serves):
    best = 0.0
    n = len(values)
    for choice in itertools.product(
        *[[-1, *[j for j, s in enumerate(serves) if needs[i] in s]] for i in range(n)]
    ):
        load = [0] * len(caps)
        for j in choice:
            if j >= 0:
                load[j] += 1
        if all(load[j] <= caps[j] for j in range(len(caps))):
            best = max(best, sum(v for v, j in zip(values, choice, strict=True) if j >= 0))
    return best


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(0, 50), min_size=1, max_size=6),
    needs=st.lists(st.sampled_from(["a", "b", "c"]), min_size=6, max_size=6),
    caps=st.lists(st.integers(0, 2), min_size=1, max_size=3),
    serves=st.lists(st.sets(st.sampled_from(["a", "b", "c"])), min_size=3, max_size=3),
)
def test_exact_equals_brute_force_and_beats_greedy(values, needs, caps, serves):
    needs = needs[: len(values)]
    serves = serves[: len(caps)]
    tasks = pl.DataFrame(
        {
            "case_id": [f"t{i}" for i in range(len(values))],
            "value": [float(v) for v in values],
            "need": needs,
        }
    )
    staff = pl.DataFrame({"agent_id": [f"u{j}" for j in range(len(caps))], "capacity": caps, "serves": [sorted(s) for s in serves]},
                         schema={"agent_id": pl.String, "capacity": pl.Int64, "serves": pl.List(pl.String)})  # fmt: skip
    exact, greedy = allocate(tasks, staff), allocate_greedy(tasks, staff)
    assert exact.expected_recovery == pytest.approx(_brute(values, needs, caps, serves))
    assert greedy.expected_recovery <= exact.expected_recovery + 1e-9
    for plan in (exact, greedy):
        load = plan.assignments.group_by("agent_id").len()
        for agent, count in load.iter_rows():
            j = int(agent[1:])
            assert count <= caps[j]
        for case, agent in plan.assignments.select("case_id", "agent_id").iter_rows():
            assert needs[int(case[1:])] in serves[int(agent[1:])]
        assert plan.assignments.height + plan.unserved.height == len(values)


def test_unserved_reasons_and_a_large_day():
    rng = np.random.default_rng(1)
    n = 20_000
    tasks = pl.DataFrame({"case_id": [f"c{i}" for i in range(n)], "value": rng.lognormal(7, 1, n),
                          "need": rng.choice(["early|zh", "middle|zh", "late|en"], n, p=[0.6, 0.38, 0.02])})  # fmt: skip
    staff = pl.DataFrame({"agent_id": [f"u{j}" for j in range(50)], "capacity": [100] * 50,
                          "serves": [["early|zh"] if j % 2 else ["early|zh", "middle|zh"] for j in range(50)]})  # fmt: skip
    exact, greedy = allocate(tasks, staff), allocate_greedy(tasks, staff)
    assert exact.solver == "min_cost_flow" and exact.gap == 0.0
    assert exact.assignments.height == 5000
    assert set(exact.unserved["reason"]) == {"capacity", "no_compatible_agent"}
    assert greedy.expected_recovery >= 0.95 * exact.expected_recovery


def test_bad_inputs_are_named():
    with pytest.raises(InvalidArgumentError, match="tasks"):
        allocate(
            pl.DataFrame({"case_id": ["a"]}),
            pl.DataFrame({"agent_id": [], "capacity": [], "serves": []}),
        )
    with pytest.raises(InvalidArgumentError, match="value"):
        allocate(pl.DataFrame({"case_id": ["a"], "value": [-1.0], "need": ["x"]}),
                 pl.DataFrame({"agent_id": ["u"], "capacity": [1], "serves": [["x"]]}))  # fmt: skip
