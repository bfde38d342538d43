"""Daily allocation of work to collectors and field agents, maximising expected recovery.

Each task (a collector call or a field visit) has a value — its expected recovery,
``overdue_fen × p_pay × uplift`` of the action (the lender's estimate of how much the action
raises the chance of payment; data) — and needs a compatible person: a collector with the
case's stage among their skills, its language and its region, or a field agent in its city.
Each person has a capacity (calls per day, visits per day on a route).

:func:`allocate` solves it exactly as a mixed-integer program (SciPy's HiGHS): tasks grouped
by what they need, a binary per task (served or not), an integer per (group, person) pair
(how many of that group the person takes), the group's served count equal to what its people
take, and each person within capacity. HiGHS reports the optimality gap. The greedy fallback
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
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import coo_matrix

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
    solver: str  # milp | greedy
    gap: float | None  # relative optimality gap reported by the solver (milp)
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


def allocate(
    tasks: pl.DataFrame, staff: pl.DataFrame, *, time_limit: float = 30.0, mip_gap: float = 1e-4
) -> Allocation:
    """The exact allocation; the greedy plan if the solver gives none in ``time_limit``.

    Two exact reductions keep it small: a group's tasks beyond the total capacity of the
    people who can serve it can never all be served, so only its most valuable ones are
    candidates (swapping in a more valuable task of the same group never hurts); and the
    constraint matrix is a network matrix (totally unimodular), so HiGHS's simplex vertex is
    already integral — the MILP runs only if it is not.
    """
    started = time.perf_counter()
    _check(tasks, staff)
    needs, serving = _groups(tasks, staff)
    n_all = tasks.height
    caps = staff["capacity"].cast(pl.Float64).to_numpy()
    group_of = {g: k for k, g in enumerate(needs)}
    all_group = np.array([group_of[g] for g in tasks["need"].to_list()], dtype=np.int64)
    all_values = tasks["value"].to_numpy().astype(np.float64)
    candidates = []
    for k, g in enumerate(needs):
        members = np.flatnonzero(all_group == k)
        room = int(sum(caps[j] for j in serving[g]))
        if room and len(members):
            best = members[np.argsort(-all_values[members], kind="stable")[:room]]
            candidates.append(best)
    pairs = [(k, j) for k, g in enumerate(needs) for j in serving[g]]
    if n_all == 0 or not pairs or not candidates:
        return allocate_greedy(tasks, staff)
    pick = np.sort(np.concatenate(candidates))
    task_group, values = all_group[pick], all_values[pick]
    n, m = len(pick), len(pairs)
    # variables: s_0..s_{n-1} (serve task), then y_0..y_{m-1} (tasks of a group a person takes)
    c = np.concatenate([-values, np.zeros(m)])
    pair_group = np.array([k for k, _ in pairs])
    pair_agent = np.array([j for _, j in pairs])
    rows = np.concatenate([task_group, pair_group])
    data = np.concatenate([np.ones(n), -np.ones(m)])
    balance = coo_matrix((data, (rows, np.arange(n + m))), shape=(len(needs), n + m)).tocsr()
    capacity = coo_matrix(
        (np.ones(m), (pair_agent, n + np.arange(m))), shape=(staff.height, n + m)
    ).tocsr()
    upper = np.concatenate([np.ones(n), np.full(m, np.inf)])
    lp = linprog(
        c,
        A_ub=capacity,
        b_ub=caps,
        A_eq=balance,
        b_eq=np.zeros(len(needs)),
        bounds=np.column_stack([np.zeros(n + m), upper]),
        method="highs-ds",
        options={"time_limit": time_limit},
    )
    x, gap = (lp.x, 0.0) if lp.status == 0 else (None, None)
    if x is not None and np.abs(x - np.rint(x)).max() > 1e-6:  # not a vertex: solve the MILP
        result = milp(
            c,
            constraints=[
                LinearConstraint(balance, 0, 0),
                LinearConstraint(capacity, -np.inf, caps),
            ],
            integrality=np.ones(n + m),
            bounds=Bounds(np.zeros(n + m), upper),
            options={"time_limit": time_limit, "mip_rel_gap": mip_gap, "disp": False},
        )
        x = result.x
        gap = result.get("mip_gap")
        if gap is None and result.status == 0:
            gap = 0.0
    if x is None:
        return allocate_greedy(tasks, staff)
    served = x[:n] > 0.5
    takes = np.rint(x[n:]).astype(np.int64)
    chosen = np.full(n_all, -1, dtype=np.int64)
    for k in range(len(needs)):  # hand each group's served tasks to its people, best first
        members = np.flatnonzero((task_group == k) & served)
        members = members[np.argsort(-values[members], kind="stable")]
        slots = [
            int(pair_agent[p]) for p in np.flatnonzero(pair_group == k) for _ in range(takes[p])
        ]
        for i, j in zip(members.tolist(), slots, strict=False):
            chosen[pick[i]] = j
    return _finish(
        tasks, staff, chosen, serving, "milp", None if gap is None else float(gap), started
    )
