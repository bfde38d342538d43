"""Benchmark of the synthetic lending book.

1. The whole book: ``write_book`` for N applications (default 1,000,000: persons,
   identifiers, applications, loans, schedules, 12 months of performance, oracle, rings and
   collection responses) to Parquet; wall time and peak RSS in an isolated process.
   Targets: 1M in <= 60 s and <= 4 GB peak; 10M (``--applications 10000000``) in chunks with
   bounded memory (peak close to the 1M run's).
2. The performance simulation against its peer, a straightforward per-loan Python loop
   applying the same monthly rules (pay, partial, miss, prepay, hard default, oldest-first
   allocation, DPD) to the same contracts, in the same run; the ratio is reported.

Run: ``python -m benchmarks.synth [--applications N] [--peer-loans K]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._harness import measure, parse_args, report
from fengkong.synth import load_params, write_book
from fengkong.synth.applications import plan_applications
from fengkong.synth.contracts import make_contracts
from fengkong.synth.performance import simulate


def _book(n: int) -> dict[str, int]:
    with tempfile.TemporaryDirectory() as tmp:
        return write_book(Path(tmp) / "book", n, seed=0)


def _inputs(n: int):
    params = load_params(overrides={"chunk_size": max(n, 1)})
    rng = np.random.default_rng(0)
    people, apps, _ = plan_applications(rng, n, params)
    return params, people, apps, make_contracts(rng, params, people, apps)


def _vectorised(n: int) -> float:
    params, people, apps, contracts = _inputs(n)
    t0 = time.perf_counter()
    simulate(np.random.default_rng(1), params, people, apps, contracts)
    return time.perf_counter() - t0


def _add_months(day: dt.date, months: int, dom: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    return dt.date(day.year + y, m + 1, dom)


def _month_end(day: dt.date, months: int) -> dt.date:
    first_next = _add_months(day, months + 1, 1)
    return first_next - dt.timedelta(days=1)


def _python_loop(n: int) -> float:
    """The peer: one loan at a time, one month at a time, in plain Python."""
    params, people, apps, contracts = _inputs(n)
    perf = params.performance
    dues: dict[int, list[int]] = {}
    for a, p, i, f in zip(
        contracts.s_app.tolist(),
        contracts.s_principal.tolist(),
        contracts.s_interest.tolist(),
        contracts.s_fee.tolist(),
        strict=True,
    ):
        dues.setdefault(a, []).append(p + i + f)
    risk = people.risk[apps.person].tolist()
    rnd = random.Random(1)
    t0 = time.perf_counter()
    rows = 0
    for a in range(len(apps.person)):
        schedule = dues[a]
        term = len(schedule)
        disbursed = contracts.disbursed[a].astype(dt.date)
        dom = int(contracts.due_day[a])
        pd = 1 / (1 + math.exp(-(perf.default_logit + perf.default_risk_coef * risk[a])))
        defaulted = rnd.random() < pd
        default_mob = 1 + rnd.randrange(term)
        p_miss = min(perf.miss_prob * math.exp(perf.miss_risk_coef * risk[a]), 0.5)
        paid_total, status = 0, "active"
        for m in range(1, params.performance_months + 1):
            if status != "active":
                break
            due_so_far = sum(schedule[: min(m, term)])
            owed = due_so_far - paid_total
            u = rnd.random()
            if defaulted and m >= default_mob:
                pay = int(owed * 0.2) if u < perf.defaulter_partial_prob else 0
            elif u < p_miss:
                pay = 0
            elif u < p_miss + perf.partial_prob:
                pay = int(owed * 0.6)
            else:
                pay = owed
            paid_total += pay
            k, cum = 0, 0
            while k < min(m, term) and cum + schedule[k] <= paid_total:
                cum += schedule[k]
                k += 1
            snapshot = _month_end(disbursed, m)
            dpd = (snapshot - _add_months(disbursed, k + 1, dom)).days if k < min(m, term) else 0
            if paid_total >= sum(schedule):
                status = "settled"
            elif dpd >= perf.writeoff_dpd:
                status = "written_off"
            rows += 1
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=1_000_000)
    parser.add_argument("--peer-loans", type=int, default=50_000)
    args = parse_args(parser, tiny={"applications": 2_000, "peer_loans": 500})

    book = measure(lambda: _book(args.applications))
    vec = measure(lambda: _vectorised(args.peer_loans))
    loop = measure(lambda: _python_loop(args.peer_loans))
    rows = [
        {
            "workload": f"whole book, {args.applications:,} applications",
            "engine": "fengkong.synth.write_book",
            "seconds": book["seconds"],
            "peak_gb": book["peak_gb"],
            "rows_written": sum(book["extra"].values()),
        },
        {
            "workload": f"12-month performance, {args.peer_loans:,} applications",
            "engine": "fengkong (vectorised)",
            "seconds": vec["extra"],
            "peak_gb": vec["peak_gb"],
            "rows_written": 0,
        },
        {
            "workload": f"12-month performance, {args.peer_loans:,} applications",
            "engine": "peer: per-loan Python loop",
            "seconds": loop["extra"],
            "peak_gb": loop["peak_gb"],
            "rows_written": 0,
        },
    ]
    ratio = loop["extra"] / vec["extra"]
    print(f"performance simulation: fengkong is {ratio:,.1f}x faster than the per-loan Python loop")
    path = report(
        "synth",
        rows,
        {
            "applications": args.applications,
            "peer_loans": args.peer_loans,
            "speedup_vs_loop": ratio,
        },
    )
    print(f"written {path}")


if __name__ == "__main__":
    main()
