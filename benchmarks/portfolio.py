"""Benchmark of the portfolio tables: panel, vintages, roll rates and stratification.

Libraries are imported before the timed processes fork (importing Polars starts no threads).
The synthetic book with 24 months of performance (about 1,000,000 loans from 1.5M
applications), read from Parquet (each side reading only the columns it uses), through fengkong (Polars) and through the same tables
written as a straightforward pandas group-by, in the same run, each in a fresh process. A
few figures of each are compared. fengkong's compiled kernels are loaded in the child before
the clock starts (the harness's untimed ``setup``, running the tables on a 500-application
book), as in a running service; a cold one-shot run pays about 0.4 s more for Numba's start.

Run: ``python -m benchmarks.portfolio [--applications N] [--book DIR]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from benchmarks._harness import SKIPPED, measure, parse_args, peer_available, report
from fengkong.portfolio import monthly_panel, pool_loans, roll_rates, stratify, vintage_curves
from fengkong.synth import generate, load_params, write_book

try:  # the peer, imported before the timed processes fork; optional in a --tiny run
    import pandas as pd
except ImportError:  # pragma: no cover - CI installs only .[dev]
    pd = None

# each side reads only the columns it uses (fengkong's panel carries cash and loss columns too)
LOAN_COLUMNS = ["loan_id", "principal_fen", "disbursed_on", "product", "rate_bp", "term"]
PANEL_COLUMNS = [
    "loan_id",
    "mob",
    "snapshot_on",
    "paid_fen",
    "principal_balance_fen",
    "dpd",
    "status",
    "written_off_fen",
    "recovered_fen",
]
PANDAS_COLUMNS = ["loan_id", "mob", "snapshot_on", "principal_balance_fen", "dpd", "status"]
BALANCE_EDGES = [0, 100_000, 300_000, 600_000, 1_000_000, 2_000_000, 5_000_000]


def _write(folder: Path, applications: int) -> None:
    params = load_params(overrides={"performance_months": 24})
    write_book(folder, applications, seed=9, params=params)


def _warm() -> None:
    """Load the compiled kernels (untimed): the same tables on a tiny book."""
    book = generate(500, seed=1)
    panel = monthly_panel(book.loans, book.performance)
    vintage_curves(panel, by=["product"])
    roll_rates(panel)


def _fengkong(folder: Path) -> dict[str, Any]:
    loans = pl.read_parquet(folder / "loans" / "*.parquet", columns=LOAN_COLUMNS)
    perf = pl.read_parquet(folder / "performance" / "*.parquet", columns=PANEL_COLUMNS)
    panel = monthly_panel(loans, perf)
    curves = vintage_curves(panel, by=["product"])
    rolls = roll_rates(panel)
    last = panel["month"].max()
    tables = stratify(pool_loans(panel, loans, month=last))
    first = curves.sort("vintage", "product", "mob").row(-1, named=True)
    rate = rolls.filter((pl.col("from_state") == "M1") & (pl.col("to_state") == "M2"))[
        "rate"
    ].item()
    return {
        "loans": loans.height,
        "panel_rows": panel.height,
        "vintage_30_last": round(first["ever_30_plus"], 9),
        "roll_m1_m2": round(rate, 9),
        "strat_balance": int(tables["balance"]["balance_fen"].sum()),
    }


def _pandas(folder: Path) -> dict[str, Any]:
    loans = pd.read_parquet(folder / "loans", columns=LOAN_COLUMNS)
    perf = pd.read_parquet(folder / "performance", columns=PANDAS_COLUMNS)
    panel = perf.merge(
        loans[["loan_id", "principal_fen", "disbursed_on", "product", "rate_bp", "term"]],
        on="loan_id",
    )
    panel["vintage"] = pd.to_datetime(panel["disbursed_on"]).dt.to_period("M")
    panel["month"] = pd.to_datetime(panel["snapshot_on"]).dt.to_period("M")
    bins = [-1, 0, 30, 60, 90, 120, 150, 180, np.inf]
    names = ["M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+"]
    panel["bucket"] = pd.cut(panel["dpd"], bins=bins, labels=names).astype(str)
    panel["state"] = np.where(
        panel["status"].isin(["current", "delinquent"]),
        panel["bucket"],
        np.where(panel["status"] == "written_off", "written_off", "paid_off"),
    )
    # vintages: first MOB at 30+ per loan, cumulative share of principal by vintage x product
    hit = panel[panel["dpd"] >= 30].groupby("loan_id")["mob"].min().rename("first30")
    per_loan = (
        panel.groupby("loan_id")
        .agg(
            vintage=("vintage", "first"),
            product=("product", "first"),
            principal=("principal_fen", "first"),
        )
        .join(hit)
    )
    last_month = panel["month"].max()
    rows = []
    for (vintage, product), group in per_loan.groupby(["vintage", "product"]):
        total = group["principal"].sum()
        horizon = (last_month - vintage).n
        for mob in range(1, horizon + 1):
            rows.append(
                (
                    vintage,
                    product,
                    mob,
                    group.loc[group["first30"] <= mob, "principal"].sum() / total,
                )
            )
    curves = pd.DataFrame(rows, columns=["vintage", "product", "mob", "ever_30_plus"])
    # roll rates: state at t-1 (open) to state at t, weighted by balance at t-1
    prev = panel[["loan_id", "month", "state", "principal_balance_fen"]].copy()
    prev["month"] = prev["month"] + 1
    prev = prev[~prev["state"].isin(["paid_off", "written_off"])]
    moves = prev.merge(
        panel[["loan_id", "month", "state"]], on=["loan_id", "month"], suffixes=("_from", "_to")
    )
    amounts = moves.groupby(["state_from", "state_to"])["principal_balance_fen"].sum()
    rates = amounts / amounts.groupby(level=0).transform("sum")
    # stratification by balance band at the last month
    pool = panel[
        (panel["month"] == last_month) & panel["status"].isin(["current", "delinquent"])
    ].copy()
    pool["band"] = np.searchsorted(BALANCE_EDGES, pool["principal_balance_fen"], side="right")
    strat = pool.groupby("band").agg(
        loans=("loan_id", "size"), balance=("principal_balance_fen", "sum")
    )
    last = curves.sort_values(["vintage", "product", "mob"]).iloc[-1]
    return {
        "loans": len(loans),
        "panel_rows": len(panel),
        "vintage_30_last": round(float(last["ever_30_plus"]), 9),
        "roll_m1_m2": round(float(rates.loc[("M1", "M2")]), 9),
        "strat_balance": int(strat["balance"].sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--applications", type=int, default=1_500_000)
    parser.add_argument("--book", type=Path, help="Reuse a book written with 24 months.")
    args = parse_args(parser, tiny={"applications": 3_000})
    has_pandas = peer_available("pandas", tiny=args.tiny)
    with tempfile.TemporaryDirectory(prefix="fk-bench-portfolio-") as tmp:
        folder = args.book or Path(tmp) / "book"
        made = (
            {"seconds": None} if args.book else measure(lambda: _write(folder, args.applications))
        )
        ours = measure(lambda: _fengkong(folder), setup=_warm)
        peer = (
            measure(lambda: _pandas(folder))
            if has_pandas
            else {"seconds": float("nan"), "peak_gb": float("nan"), "extra": SKIPPED}
        )
        same = ours["extra"] == peer["extra"] if has_pandas else SKIPPED
        rows = [
            {
                "engine": "fengkong (Polars)",
                "seconds": ours["seconds"],
                "peak_gb": ours["peak_gb"],
                "vs fengkong": 1.0,
                "same figures": same,
            },
            {
                "engine": "pandas group-by",
                "seconds": peer["seconds"],
                "peak_gb": peer["peak_gb"],
                "vs fengkong": peer["seconds"] / ours["seconds"],
                "same figures": same,
            },
        ]
        report(
            "portfolio",
            rows,
            {
                "applications": args.applications,
                "book_seconds": made["seconds"],
                "fengkong": ours["extra"],
                "pandas": peer["extra"],
                "generated_on": dt.date.today().isoformat(),
            },
        )


if __name__ == "__main__":
    main()
