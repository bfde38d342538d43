"""Daily allocation of work to collectors and field agents, maximising expected recovery.

Each task (a collector call or a field visit) has a value — its expected recovery,
``overdue_fen × p_pay × uplift`` of the action (the lender's estimate of how much the action
raises the chance of payment; data) — and needs a compatible person: a collector with the
case's stage among their skills, its language and its region, or a field agent in its city.
Each person has a capacity (calls per day, visits per day on a route).

:func:`allocate` solves it exactly as a minimum-cost flow (OR-Tools; tasks grouped by what
they need, see its docstring) and reports the gap (0: proven optimal). The greedy fallback
(:func:`allocate_greedy`, also used when the solver fails or runs out of time) serves tasks by
value, each to the compatible person with most room left. Both return the plan's expected
recovery and every task left unserved with the reason.

>>> tasks = pl.DataFrame({"case_id": ["a", "b", "c"], "value": [900.0, 500.0, 100.0],
...                       "need": ["early|zh|east"] * 3})
>>> staff = pl.DataFrame({"agent_id": ["u1"], "capacity": [2], "serves": [["early|zh|east"]]})
>>> plan = allocate(tasks, staff)
>>> plan.assignments["case_id"].to_list(), plan.expected_recovery, plan.unserved["reason"].to_list()
(['a', 'b'], 1400.0, ['capacity'])
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import polars as pl
from ortools.graph.python import min_cost_flow

from fengkong.errors import InvalidArgumentError

__all__ = ["Allocation", "allocate", "allocate_greedy", "need_key"]


def need_key(*parts: pl.Expr) -> pl.Expr:
    """The compatibility key of a task or a skill: its parts joined by ``|``."""
    return pl.concat_str(list(parts), separator="|")


@dataclass(frozen=True, slots=True)
class Allocation:
    """A day's allocation: assignments, expected recovery, unserved tasks, solver facts."""

    assignments: pl.DataFrame  # case_id, agent_id, value
    unserved: pl.DataFrame  # case_id, value, reason (no_compatible_agent | capacity)
    expected_recovery: float
    solver: str  # min_cost_flow | greedy
    gap: float | None  # relative optimality gap (0: proven optimal; None for greedy)
    seconds: float


def _check(tasks: pl.DataFrame, staff: pl.DataFrame) -> None:
    for name, frame, cols in (
        ("tasks", tasks, ("case_id", "value", "need")),
        ("staff", staff, ("agent_id", "capacity", "serves")),
    ):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise InvalidArgumentError(name, expected=f"columns {cols}", got=f"missing {missing}")
    if tasks.height and tasks["value"].min() < 0:  # type: ignore[operator]
        raise InvalidArgumentError("tasks.value", expected="values >= 0", got=tasks["value"].min())
    if staff.height and staff["capacity"].min() < 0:  # type: ignore[operator]
        raise InvalidArgumentError(
            "staff.capacity", expected="capacities >= 0", got=staff["capacity"].min()
        )


def _groups(tasks: pl.DataFrame, staff: pl.DataFrame) -> tuple[list[str], dict[str, list[int]]]:
    needs = tasks["need"].unique(maintain_order=True).to_list()
    serving: dict[str, list[int]] = {n: [] for n in needs}
    for j, serves in enumerate(staff["serves"].to_list()):
        for n in serves or ():
            if n in serving:
                serving[n].append(j)
    return needs, serving


def _finish(
    tasks: pl.DataFrame,
    staff: pl.DataFrame,
    chosen_agent: np.ndarray,
    serving: dict[str, list[int]],
    solver: str,
    gap: float | None,
    started: float,
) -> Allocation:
    served = chosen_agent >= 0
    agents = staff["agent_id"].to_numpy()
    assignments = pl.DataFrame(
        {
            "case_id": tasks["case_id"].filter(pl.Series(served)),
            "agent_id": agents[chosen_agent[served]]
            if served.any()
            else np.array([], dtype=object),
            "value": tasks["value"].filter(pl.Series(served)),
        },
        schema={"case_id": tasks["case_id"].dtype, "agent_id": pl.String, "value": pl.Float64},
    )
    rest = tasks.filter(pl.Series(~served))
    unserved = rest.select(
        "case_id",
        "value",
        pl.col("need")
        .map_elements(
            lambda n: "capacity" if serving.get(n) else "no_compatible_agent",
            return_dtype=pl.String,
        )
        .alias("reason"),
    )
    return Allocation(
        assignments,
        unserved,
        float(assignments["value"].sum()),
        solver,
        gap,
        time.perf_counter() - started,
    )


def allocate_greedy(tasks: pl.DataFrame, staff: pl.DataFrame) -> Allocation:
    """Serve tasks by value, each to the compatible person with the most room left."""
    started = time.perf_counter()
    _check(tasks, staff)
    _, serving = _groups(tasks, staff)
    room = staff["capacity"].cast(pl.Int64).to_numpy().copy()
    order = np.argsort(-tasks["value"].to_numpy(), kind="stable")
    needs = tasks["need"].to_list()
    chosen = np.full(tasks.height, -1, dtype=np.int64)
    for i in order.tolist():
        people = serving.get(needs[i])
        if not people:
            continue
        best = max(people, key=lambda j: room[j])
        if room[best] > 0:
            room[best] -= 1
            chosen[i] = best
    return _finish(tasks, staff, chosen, serving, "greedy", None, started)


def allocate(tasks: pl.DataFrame, staff: pl.DataFrame) -> Allocation:
    """The exact allocation, as a min-cost flow (OR-Tools); greedy if the solver fails.

    The network: a source, one node per group of tasks needing the same thing, one per person,
    a sink; an arc per task from the source to its group (capacity 1, cost minus its value in
    whole fen), an arc from each group to each person who serves it, one from each person to
    the sink (their capacity), and a bypass from the source to the sink for work left undone.
    A minimum-cost flow is an optimal plan (values rounded to the fen). A group's tasks beyond
    the total capacity of its people are pruned first (exactly: a more valuable task of the
    same group can always replace a less valuable one).
    """
    started = time.perf_counter()
    _check(tasks, staff)
    needs, serving = _groups(tasks, staff)
    n_all = tasks.height
    caps = staff["capacity"].cast(pl.Int64).to_numpy()
    group_of = {g: k for k, g in enumerate(needs)}
    all_group = np.array([group_of[g] for g in tasks["need"].to_list()], dtype=np.int64)
    all_values = tasks["value"].to_numpy().astype(np.float64)
    candidates = []
    for k, g in enumerate(needs):
        members = np.flatnonzero(all_group == k)
        room = int(sum(caps[j] for j in serving[g]))
        if room and len(members):
            candidates.append(members[np.argsort(-all_values[members], kind="stable")[:room]])
    if not candidates:
        return allocate_greedy(tasks, staff)
    pick = np.sort(np.concatenate(candidates))
    n, groups, agents = len(pick), len(needs), staff.height
    supply = int(min(n, caps.sum()))
    source, sink = 0, 1
    group_node = 2 + np.arange(groups)
    agent_node = 2 + groups + np.arange(agents)
    pairs = [(k, j) for k, g in enumerate(needs) for j in serving[g]]
    tails = np.concatenate(
        [[source], np.full(n, source), [group_node[k] for k, _ in pairs], agent_node]
    )
    heads = np.concatenate(
        [
            [sink],
            group_node[all_group[pick]],
            [agent_node[j] for _, j in pairs],
            np.full(agents, sink),
        ]
    )
    capacities = np.concatenate([[supply], np.ones(n), np.full(len(pairs), supply), caps])
    costs = np.concatenate(
        [[0], -np.rint(all_values[pick]), np.zeros(len(pairs)), np.zeros(agents)]
    )
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32),
        heads.astype(np.int32),
        capacities.astype(np.int64),
        costs.astype(np.int64),
    )
    flow.set_node_supply(source, supply)
    flow.set_node_supply(sink, -supply)
    if flow.solve() != flow.OPTIMAL:
        return allocate_greedy(tasks, staff)
    flows = flow.flows(np.arange(flow.num_arcs()))
    served = flows[1 : 1 + n] > 0
    takes = flows[1 + n : 1 + n + len(pairs)]
    chosen = np.full(n_all, -1, dtype=np.int64)
    task_group, values = all_group[pick], all_values[pick]
    pair_group = np.array([k for k, _ in pairs])
    pair_agent = np.array([j for _, j in pairs])
    for k in range(groups):  # hand each group's served tasks to its people, best first
        members = np.flatnonzero((task_group == k) & served)
        members = members[np.argsort(-values[members], kind="stable")]
        slots = [
            int(pair_agent[p]) for p in np.flatnonzero(pair_group == k) for _ in range(takes[p])
        ]
        for i, j in zip(members.tolist(), slots, strict=False):
            chosen[pick[i]] = j
    return _finish(tasks, staff, chosen, serving, "min_cost_flow", 0.0, started)
