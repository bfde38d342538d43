"""Benchmark of a collections day and of work allocation.

1. A day over 1,000,000 delinquent cases (one borrower each, drawn like the synthetic book's
   delinquent loans): the collection score (a LightGBM fitted on a synthetic book, scoring all
   cases), case opening and staging, the contact log read (the last 31 days of a log holding
   three attempts for each of 10 % of the debtors) and the stop states in force (1 % of the
   debtors), the shipped strategy through the decision engine, every planned contact through
   the guardrails at its planned local time, the exact allocation of the day's calls and field
   visits to 2,000 collectors and 500 field agents, and every automated contact written to
   the contact log (SQLite, a file on disk).
2. Allocation of 100,000 call tasks to 500 collectors (stages × languages × regions): the exact
   allocation (with its optimality gap), the greedy fallback (its recovery against the optimum)
   and, as the reference a developer would write first, SciPy's MILP on the full formulation
   (every task × every compatible collector, on 20,000 tasks) with a 60 s limit.

No open-source collections engine exists to run the same day through (see issue 8); the
stages are timed separately.

Run: ``python -m benchmarks.collections [--cases N] [--tasks N]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from typing import Any

import numpy as np
import polars as pl

from benchmarks._harness import measure, parse_args, report


def _population(n: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Loans (snapshot), their score features, and borrowers for ``n`` delinquent cases."""
    from fengkong.collections.score import COLLECTION_FEATURES  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    dpd = np.minimum(rng.geometric(1 / 35, n), 179).astype(np.int64)
    balance = rng.integers(50_000, 3_000_000, n)
    overdue = (balance * rng.uniform(0.05, 0.4, n)).astype(np.int64)
    loans = pl.DataFrame(
        {
            "loan_id": np.arange(n),
            "borrower_id": [f"p{k}" for k in range(n)],
            "dpd": dpd,
            "overdue_fen": overdue,
            "balance_fen": balance,
            "status": ["delinquent"] * n,
        }
    )
    provinces = ["Guangdong", "Jiangsu", "Henan", "Zhejiang", "Hebei", "Shandong", "Beijing"]
    region = rng.choice(provinces, n)
    borrowers = pl.DataFrame(
        {
            "borrower_id": loans["borrower_id"],
            "language": np.where(rng.random(n) < 0.95, "zh", "en"),
            "region": region,
            "city": [f"{r}-{c}" for r, c in zip(region, rng.integers(0, 5, n), strict=True)],
            "time_zone": ["Asia/Shanghai"] * n,
        }
    )
    features = pl.DataFrame(
        {
            "loan_id": loans["loan_id"],
            "dpd": dpd,
            "overdue_fen": overdue,
            "principal_balance_fen": balance,
            "overdue_share": overdue / balance,
            "mob": rng.integers(1, 24, n),
            "term": rng.choice([6, 12, 24, 36], n),
            "rate_bp": rng.integers(40, 200, n),
            "principal_fen": balance + rng.integers(0, 500_000, n),
            "paid_this_month": rng.integers(0, 2, n),
            "paid_share_this_month": rng.random(n),
            "max_dpd_before": dpd + rng.integers(0, 30, n),
            "months_delinquent_before": rng.integers(0, 6, n),
            "cures_before": rng.integers(0, 3, n),
            "contacted": rng.integers(0, 2, n),
            "right_party": rng.integers(0, 2, n),
            "promised": rng.integers(0, 2, n),
            "product": rng.choice(["cash_loan", "consumer_bullet", "small_business"], n),
        }
    ).select("loan_id", *COLLECTION_FEATURES)
    return loans, features, borrowers


def _contact_log(debtors: pl.Series, as_of: dt.date) -> tuple[Any, dict[str, Any]]:
    """A contact log on disk holding 3 attempts in the last week for 10 % of the debtors, and
    a stop state (a cease request on calls, or a dispute) for 1 %."""
    import tempfile  # noqa: PLC0415

    from sqlalchemy import insert  # noqa: PLC0415

    from fengkong.db import ContactLogRecord, make_engine, migrate, session_factory  # noqa: PLC0415

    folder = tempfile.mkdtemp(prefix="fk-bench-")
    engine = make_engine(f"sqlite:///{folder}/log.db")
    migrate(engine)
    ids = debtors.to_list()
    rows = [
        {
            "case_id": f"x{k}",
            "debtor_id": ids[k],
            "jurisdiction": "cn",
            "channel": "call",
            "party": "debtor",
            "purpose": "collect",
            "actor": "agency-1",
            "number": None,
            "at": dt.datetime.combine(as_of - dt.timedelta(days=j + 1), dt.time(3), tzinfo=dt.UTC),
            "debtor_tz": None,
            "template": "",
            "recording": ["audio"],
            "debts": None,
            "allowed": True,
            "breaches": [],
        }
        for k in range(0, len(ids), 10)
        for j in range(3)
    ]
    sessions = session_factory(engine)
    with sessions.begin() as s:
        s.execute(insert(ContactLogRecord), rows)
    stops = {
        ids[k]: [("cease_request", frozenset({"call"}))] if k % 200 else [("disputed", None)]
        for k in range(0, len(ids), 100)
    }
    return sessions, stops


def _day(n: int, score_applications: int = 100_000) -> dict[str, Any]:
    from fengkong.collections import load_contact_rules  # noqa: PLC0415
    from fengkong.collections.cases import update_cases  # noqa: PLC0415
    from fengkong.collections.daily import run_day  # noqa: PLC0415
    from fengkong.collections.promises import PROMISE_SCHEMA  # noqa: PLC0415
    from fengkong.collections.score import (  # noqa: PLC0415
        case_p_pay,
        collection_dataset,
        fit_collection_score,
    )
    from fengkong.collections.strategy import load_strategy  # noqa: PLC0415
    from fengkong.collections.synthetic import synthetic_staff  # noqa: PLC0415
    from fengkong.services.collections import log_planned_contacts, recent_contacts  # noqa: PLC0415
    from fengkong.synth import generate  # noqa: PLC0415

    book = generate(score_applications, seed=1)  # the book the collection score learns from
    score = fit_collection_score(
        collection_dataset(book.loans, book.performance, book.collection_responses),
        n_estimators=150,
    )
    loans, features, borrowers = _population(n, seed=2)
    as_of = dt.date(2026, 3, 31)
    timings = {}
    t0 = time.perf_counter()
    scored = features.select("loan_id").with_columns(pl.Series("p_pay", score.predict(features)))
    timings["score"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    cases, _ = update_cases(None, loans, as_of)
    p_pay = case_p_pay(cases, loans, scored)
    timings["cases"] = time.perf_counter() - t1
    team, field = synthetic_staff(borrowers, collectors=2000, field_agents=500)
    sessions, stops = _contact_log(loans["borrower_id"], as_of)
    t2 = time.perf_counter()
    with sessions() as s:
        since = dt.datetime.combine(as_of, dt.time(), tzinfo=dt.UTC) - dt.timedelta(days=31)
        history = recent_contacts(s, since=since)
    timings["contact log read"] = time.perf_counter() - t2
    t2 = time.perf_counter()
    result = run_day(
        as_of=as_of,
        loans=loans,
        cases=None,
        promises=pl.DataFrame(schema=PROMISE_SCHEMA),
        payments=pl.DataFrame(
            schema={"case_id": pl.String, "paid_on": pl.Date, "amount_fen": pl.Int64}
        ),
        p_pay=p_pay,
        strategy=load_strategy(),
        collectors=team,
        field_agents=field,
        profile=load_contact_rules().profile("cn"),
        borrowers=borrowers,
        contact_history=history,
        stops=stops,
    )
    timings["day (cases, plan, guardrails, allocation)"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    with sessions.begin() as s:
        written = log_planned_contacts(s, result, profile=load_contact_rules().profile("cn"))
    timings["contact log write"] = time.perf_counter() - t3
    timings["total"] = time.perf_counter() - t0
    return {
        "timings": timings,
        "summary": {
            **result.summary(),
            "contacts_logged": written,
            "history_debtors": len(history),
        },
        "calls_seconds": result.calls.seconds,
        "visits_seconds": result.visits.seconds,
        "calls_gap": result.calls.gap,
    }


def _tasks(n: int, agents: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    stages, langs, regions = (
        ["early", "middle", "late"],
        ["zh", "yue", "en"],
        [f"r{k}" for k in range(10)],
    )
    tasks = pl.DataFrame(
        {
            "case_id": [f"c{i}" for i in range(n)],
            "value": rng.lognormal(8, 1, n),
            "need": [
                f"{stages[a]}|{langs[b]}|{regions[c]}"
                for a, b, c in zip(
                    rng.integers(0, 3, n),
                    rng.choice(3, n, p=[0.8, 0.15, 0.05]),
                    rng.integers(0, 10, n),
                    strict=True,
                )
            ],
        }
    )
    serves = []
    for _ in range(agents):
        st = rng.choice(stages, rng.integers(1, 3), replace=False)
        lg = (
            ["zh"]
            + (["yue"] if rng.random() < 0.2 else [])
            + (["en"] if rng.random() < 0.1 else [])
        )
        rg = rng.choice(regions, 2, replace=False)
        serves.append([f"{s}|{lang}|{r}" for s in st for lang in lg for r in rg])
    staff = pl.DataFrame(
        {
            "agent_id": [f"u{j}" for j in range(agents)],
            "capacity": rng.integers(60, 120, agents),
            "serves": serves,
        }
    )
    return tasks, staff


def _allocation(n: int, agents: int) -> dict[str, Any]:
    from fengkong.collections.allocation import allocate, allocate_greedy  # noqa: PLC0415

    tasks, staff = _tasks(n, agents, seed=0)
    exact = allocate(tasks, staff)
    greedy = allocate_greedy(tasks, staff)
    return {
        "exact_seconds": exact.seconds,
        "exact_recovery": exact.expected_recovery,
        "gap": exact.gap,
        "greedy_seconds": greedy.seconds,
        "greedy_recovery": greedy.expected_recovery,
        "greedy_share": greedy.expected_recovery / exact.expected_recovery,
        "assigned": exact.assignments.height,
    }


def _naive_milp(n: int, agents: int, limit: float) -> dict[str, Any]:
    from scipy.optimize import Bounds, LinearConstraint, milp  # noqa: PLC0415
    from scipy.sparse import coo_matrix  # noqa: PLC0415

    tasks, staff = _tasks(n, agents, seed=0)
    by_need: dict[str, list[int]] = {}
    for j, s in enumerate(staff["serves"].to_list()):
        for need in s:
            by_need.setdefault(need, []).append(j)
    t0 = time.perf_counter()
    needs = tasks["need"].to_numpy()
    rows_i_parts, rows_j_parts = [], []
    for need, people in by_need.items():  # every task x every collector who could take it
        members = np.flatnonzero(needs == need)
        rows_i_parts.append(np.repeat(members, len(people)))
        rows_j_parts.append(np.tile(np.asarray(people), len(members)))
    rows_i, rows_j = np.concatenate(rows_i_parts), np.concatenate(rows_j_parts)
    m = len(rows_i)
    values = tasks["value"].to_numpy()[rows_i]
    once = coo_matrix((np.ones(m), (rows_i, np.arange(m))), shape=(n, m)).tocsr()
    cap = coo_matrix((np.ones(m), (rows_j, np.arange(m))), shape=(agents, m)).tocsr()
    result = milp(
        -values,
        constraints=[
            LinearConstraint(once, 0, 1),
            LinearConstraint(cap, 0, staff["capacity"].to_numpy()),
        ],
        integrality=np.ones(m),
        bounds=Bounds(0, 1),
        options={"time_limit": limit, "disp": False},
    )
    return {
        "seconds": time.perf_counter() - t0,
        "variables": m,
        "status": result.message,
        "recovery": None if result.x is None else float(-result.fun),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--collectors", type=int, default=500)
    parser.add_argument("--naive-limit", type=float, default=60.0)
    parser.add_argument(
        "--naive-tasks", type=int, default=20_000, help="Size of the reference MILP."
    )
    parser.add_argument(
        "--score-applications",
        type=int,
        default=100_000,
        help="Book the collection score learns from.",
    )
    args = parse_args(
        parser,
        tiny={"cases": 2_000, "tasks": 500, "collectors": 10, "naive_limit": 5.0,
              "naive_tasks": 200, "score_applications": 2_000},
    )  # fmt: skip
    day = measure(lambda: _day(args.cases, args.score_applications))
    alloc = measure(lambda: _allocation(args.tasks, args.collectors))["extra"]
    naive = measure(lambda: _naive_milp(args.naive_tasks, args.collectors, args.naive_limit))[
        "extra"
    ]
    small = measure(lambda: _allocation(args.naive_tasks, args.collectors))["extra"]
    extra = day["extra"]
    rows = [
        {
            "workload": f"day, {args.cases:,} delinquent cases: {name}",
            "seconds": seconds,
            "note": "",
        }
        for name, seconds in extra["timings"].items()
    ]
    rows[-1]["note"] = f"peak {day['peak_gb']:.2f} GB; {extra['summary']}"
    rows += [
        {
            "workload": f"allocation, {args.tasks:,} tasks to {args.collectors} collectors: exact (min-cost flow)",
            "seconds": alloc["exact_seconds"],
            "note": f"gap {alloc['gap']}; {alloc['assigned']:,} assigned",
        },
        {
            "workload": "allocation: greedy fallback",
            "seconds": alloc["greedy_seconds"],
            "note": f"{alloc['greedy_share']:.4%} of the optimum",
        },
        {
            "workload": f"allocation, {args.naive_tasks:,} tasks: exact (min-cost flow)",
            "seconds": small["exact_seconds"],
            "note": f"recovery {small['exact_recovery']:,.0f}",
        },
        {
            "workload": f"allocation, {args.naive_tasks:,} tasks: SciPy MILP, full formulation (reference)",
            "seconds": naive["seconds"],
            "note": f"{naive['variables']:,} variables; {naive['status']}; recovery {naive['recovery']}",
        },
    ]
    report("collections", rows, {"day": extra, "allocation": alloc, "naive_milp": naive, "small": small,
                                 "generated_on": dt.date.today().isoformat()})  # fmt: skip


if __name__ == "__main__":
    main()
