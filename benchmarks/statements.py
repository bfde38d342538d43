"""Benchmark of the legal statement over a book: the batch path against the per-loan one.

100,000 loans of the synthetic book (mixed products, disbursed in 2025), each paying its
instalments on their due dates until a loan-specific stop (a quarter stop early and fall
overdue), statements as of 2026-06-30 under the cn private rules. ``legal_statements`` (one
call over the book's instalment rows and payments) against the per-loan path every other
caller uses (``replay`` then ``legal_statement``; a sample timed and scaled). There is no
open-source peer that computes a lawful amount; the per-loan path is the reference the batch
path is tested equal to (tests/unit/servicing/test_statement.py).

Run: ``python -m benchmarks.statements [--loans N] [--loop-sample K]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from decimal import Decimal

import numpy as np
import polars as pl

from benchmarks._harness import parse_args, report
from fengkong.money import Money
from fengkong.servicing.batch import schedules
from fengkong.servicing.ledger import Repayment, replay
from fengkong.servicing.products import Product
from fengkong.servicing.schedule import LoanTerms, build_schedule
from fengkong.servicing.statement import batch_inputs, legal_statement, legal_statements
from fengkong.synth import generate

AS_OF = dt.date(2026, 6, 30)


def _book(loans: int) -> pl.DataFrame:
    book = generate(int(loans / 0.64) + 1000, seed=0).loans.head(loans)
    flat = pl.col("method") == "flat_fee"
    return book.select(
        "loan_id",
        "method",
        pl.lit("30/360").alias("day_count"),
        "principal_fen",
        pl.when(flat).then(0).otherwise(pl.col("rate_bp") * 100).alias("rate_ppm"),
        "term",
        "disbursed_on",
        pl.when(flat).then(pl.col("rate_bp") * 100).otherwise(0).alias("fee_ppm"),
    )


def _terms(row: dict) -> LoanTerms:  # type: ignore[type-arg]
    single = row["method"] == "single_payment"
    product = Product(
        name=row["method"],
        method=row["method"],
        max_term=1 if single else 480,
        instalment_fee_rate=Decimal(row["fee_ppm"]) / 1_000_000,
    )
    return LoanTerms(
        product,
        Money.from_minor(row["principal_fen"]),
        Decimal(row["rate_ppm"]) / 1_000_000,
        row["term"],
        row["disbursed_on"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--loop-sample", type=int, default=1_000)
    args = parse_args(parser, tiny={"loans": 500, "loop_sample": 50})
    rng = np.random.default_rng(0)
    book = _book(args.loans)
    rows = schedules(book)
    stop = pl.DataFrame(
        {
            "loan_id": book["loan_id"],
            "stop": np.where(rng.random(book.height) < 0.25, rng.integers(0, 6, book.height), 99),
        }
    )
    rows = rows.join(stop, on="loan_id").with_columns(
        ((pl.col("due_on") <= AS_OF) & (pl.col("instalment") <= pl.col("stop"))).alias("paid")
    )
    lines = rows.select(
        "loan_id",
        "instalment",
        "due_on",
        pl.lit(0, pl.Int64).alias("due_penalty"),
        pl.col("fee_fen").alias("due_fee"),
        pl.col("interest_fen").alias("due_interest"),
        pl.col("principal_fen").alias("due_principal"),
        pl.lit(0, pl.Int64).alias("paid_penalty"),
        *(
            pl.when("paid").then(pl.col(f"{c}_fen")).otherwise(0).alias(f"paid_{c}")
            for c in ("fee", "interest", "principal")
        ),
    )
    payments = rows.filter("paid").select(
        "loan_id", pl.col("due_on").alias("on"), pl.col("due_fen").alias("amount_fen")
    )
    loans = book.select(
        "loan_id",
        "disbursed_on",
        "principal_fen",
        pl.col("principal_fen").alias("net_fen"),
        pl.lit(0, pl.Int64).alias("upfront_fen"),
        pl.lit(False).alias("deducted"),
        "rate_ppm",
        pl.lit(1_500_000, pl.Int64).alias("penalty_multiplier_ppm"),
        pl.lit("active").alias("status"),
    )
    print(
        f"workload: {book.height:,} loans, {lines.height:,} instalments, "
        f"{payments.height:,} payments"
    )

    t0 = time.perf_counter()
    legal_statements(loans, lines, payments, as_of=AS_OF, jurisdiction="cn", lender_type="private")
    t_batch = time.perf_counter() - t0

    sample = book.sample(min(args.loop_sample, book.height), seed=0)
    paid_by: dict[int, list[tuple[dt.date, int]]] = {}
    for loan_id, on, fen in payments.select("loan_id", "on", "amount_fen").iter_rows():
        paid_by.setdefault(loan_id, []).append((on, fen))
    t0 = time.perf_counter()
    expected, states = [], []
    for row in sample.iter_rows(named=True):
        events = [
            Repayment(on, Money.from_minor(fen), key=f"p{k}")
            for k, (on, fen) in enumerate(paid_by.get(row["loan_id"], []))
        ]
        state = replay(build_schedule(_terms(row)), events, as_of=AS_OF)
        st = legal_statement(state, jurisdiction="cn", lender_type="private")
        expected.append(st.line("total").owed.minor)
        states.append(state)
    t_loop = (time.perf_counter() - t0) * book.height / sample.height
    # the batch path on the sample's own replayed rows (penalties included) gives the same owed
    check = legal_statements(
        **batch_inputs(states), as_of=AS_OF, jurisdiction="cn", lender_type="private"
    )
    agree = sum(e == o for e, o in zip(expected, check["owed_fen"].to_list(), strict=True))
    print(f"batch and per-loan owed agree on {agree:,} of {sample.height:,} sampled loans")
    report(
        "statements",
        [
            {
                "workload": f"legal statements, {book.height:,} loans",
                "engine": "fengkong legal_statements (batch)",
                "seconds": t_batch,
                "ratio": 1.0,
            },
            {
                "workload": f"legal statements, {book.height:,} loans",
                "engine": f"per-loan replay + legal_statement ({sample.height:,} timed, scaled)",
                "seconds": t_loop,
                "ratio": t_loop / t_batch,
            },
        ],
        {"as_of": str(AS_OF), "target_seconds": 10, "agree": agree, "sample": sample.height},
    )


if __name__ == "__main__":
    main()
