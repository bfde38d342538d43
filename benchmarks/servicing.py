"""Benchmark of the servicing core on the synthetic book's loans.

1. Schedules for 1,000,000 loans (mixed products, 1-36 instalments) with the vectorised
   engine (``fengkong.servicing.batch.schedules``), against numpy-financial (``pmt``/``ipmt``/
   ``ppmt`` on the equal-instalment loans, float, no rounding rules) and the per-loan
   ``Decimal`` engine (``build_schedule``, a straightforward loop) timed on a sample and
   scaled to the same count.
2. End of day for 1,000,000 loans (8.8M instalment lines) on one business date, the loans
   due that day paying (90 %): ``run_eod`` against replaying each loan with the per-loan
   fold (``ledger.replay``; sample, scaled). Peak RSS of the whole run is reported.
3. True APR for 100,000 loans with irregular dates (odd first periods, an upfront fee):
   ``apr_batch`` against the per-loan ``apr`` loop (sample, scaled) and numpy-financial's
   vectorised ``rate`` on the same loans taken as regular (it cannot see the dates).

Run: ``python -m benchmarks.servicing [--loans N] [--apr-loans M]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time
from decimal import Decimal

import numpy as np
import polars as pl

from benchmarks._harness import SKIPPED, parse_args, peer_available, report
from fengkong.money import Money
from fengkong.servicing.apr import CashFlow, apr, apr_batch
from fengkong.servicing.batch import schedules
from fengkong.servicing.eod import open_book, run_eod
from fengkong.servicing.ledger import Repayment, replay
from fengkong.servicing.products import Product
from fengkong.servicing.schedule import LoanTerms, build_schedule
from fengkong.synth import generate


def _book(loans: int) -> pl.DataFrame:
    """The synthetic book's loans as schedule-engine input (about 0.65 loans per application)."""
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


def _timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _decimal_loop(book: pl.DataFrame) -> float:
    products: dict[tuple[str, int], Product] = {}
    t0 = time.perf_counter()
    for row in book.iter_rows(named=True):
        key = (row["method"], row["fee_ppm"])
        if key not in products:
            single = row["method"] == "single_payment"
            products[key] = Product(
                name=row["method"],
                method=row["method"],
                max_term=1 if single else 480,
                instalment_fee_rate=Decimal(row["fee_ppm"]) / 1_000_000,
            )
        terms = LoanTerms(
            products[key],
            Money.from_minor(row["principal_fen"]),
            Decimal(row["rate_ppm"]) / 1_000_000,
            row["term"],
            row["disbursed_on"],
        )
        build_schedule(terms)
    return time.perf_counter() - t0


def _npf_schedules(book: pl.DataFrame) -> float:
    import numpy_financial as npf  # noqa: PLC0415 (a peer, optional in a tiny run)

    ann = book.filter(method="equal_instalment")
    rate = ann["rate_ppm"].to_numpy() / 1e6 / 12
    nper = ann["term"].to_numpy()
    pv = ann["principal_fen"].to_numpy() / 100
    t0 = time.perf_counter()
    for k in range(1, int(nper.max()) + 1):
        live = nper >= k
        npf.ipmt(rate[live], k, nper[live], pv[live])
        npf.ppmt(rate[live], k, nper[live], pv[live])
    return time.perf_counter() - t0


def _apr_inputs(book: pl.DataFrame, n: int, rng: np.random.Generator):
    sample = book.filter(pl.col("method") == "equal_instalment").head(n)
    sched = schedules(
        sample.with_columns(
            first_due_on=pl.col("disbursed_on")
            + pl.duration(days=pl.lit(rng.integers(20, 50, sample.height)))
        )
    )
    fee = (sample["principal_fen"].to_numpy() * 0.02).astype(np.int64)
    width = int(sample["term"].max()) + 1
    dates = np.repeat(
        sample["disbursed_on"].to_numpy().astype("datetime64[D]")[:, None], width, axis=1
    )
    amounts = np.zeros((sample.height, width), dtype=np.int64)
    amounts[:, 0] = sample["principal_fen"].to_numpy() - fee
    pos = sched["loan_id"].to_numpy()
    index = {lid: i for i, lid in enumerate(sample["loan_id"].to_list())}
    rows = np.array([index[x] for x in pos])
    cols = sched["instalment"].to_numpy()
    dates[rows, cols] = sched["due_on"].to_numpy().astype("datetime64[D]")
    amounts[rows, cols] = -sched["due_fen"].to_numpy()
    return sample, dates, amounts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--apr-loans", type=int, default=100_000)
    parser.add_argument("--loop-sample", type=int, default=20_000)
    args = parse_args(parser, tiny={"loans": 2_000, "apr_loans": 500, "loop_sample": 100})
    has_npf = peer_available("numpy_financial", tiny=args.tiny)
    rng = np.random.default_rng(0)

    book = _book(args.loans)
    mix = book.group_by("method").len().sort("method")
    print("workload:", dict(mix.iter_rows()), f"terms {book['term'].min()}-{book['term'].max()}")

    t_batch, rows = _timed(lambda: schedules(book))
    t_npf = _npf_schedules(book) if has_npf else float("nan")
    n_ann = book.filter(method="equal_instalment").height
    sample = book.sample(args.loop_sample, seed=0)
    t_loop = _decimal_loop(sample) * book.height / sample.height

    day = dt.date(2026, 1, 1)
    loans = book.select(
        "loan_id",
        (pl.col("loan_id") // 2).alias("borrower_id"),
        "disbursed_on",
        "rate_ppm",
        pl.lit(1_500_000).alias("penalty_multiplier_ppm"),
        pl.lit(0).alias("late_fee_fen"),
        pl.lit(3).alias("grace_days"),
    )
    state = open_book(loans, rows)
    paying = rows.filter(pl.col("due_on") == day).sample(fraction=0.9, seed=1)
    pay = paying.select("loan_id", pl.col("due_fen").alias("amount_fen"))
    t_eod, _ = _timed(lambda: run_eod(state, pay, day))
    k_eod = min(2_000, book.height)
    sample_eod = book.head(k_eod)
    paid_by = dict(zip(pay["loan_id"].to_list(), pay["amount_fen"].to_list(), strict=True))
    t0 = time.perf_counter()
    for row in sample_eod.iter_rows(named=True):
        single = row["method"] == "single_payment"
        product = Product(
            name=row["method"],
            method=row["method"],
            max_term=1 if single else 480,
            instalment_fee_rate=Decimal(row["fee_ppm"]) / 1_000_000,
        )
        terms = LoanTerms(
            product,
            Money.from_minor(row["principal_fen"]),
            Decimal(row["rate_ppm"]) / 1_000_000,
            row["term"],
            row["disbursed_on"],
        )
        events = (
            [Repayment(day, Money.from_minor(paid_by[row["loan_id"]]), key="p")]
            if row["loan_id"] in paid_by
            else []
        )
        replay(build_schedule(terms), events, as_of=day)
    t_eod_loop = (time.perf_counter() - t0) * book.height / k_eod

    apr_sample, dates, amounts = _apr_inputs(book, args.apr_loans, rng)
    start = apr_sample["disbursed_on"].to_numpy().astype("datetime64[D]")
    t_apr, (simple, _) = _timed(lambda: apr_batch(start, dates, amounts))
    k = min(2_000, apr_sample.height)
    t0 = time.perf_counter()
    scalar = []
    for i in range(k):
        flows = [
            CashFlow(dt.date.fromisoformat(str(d)), Money.from_minor(int(a)))
            for d, a in zip(dates[i], amounts[i], strict=True)
            if a != 0
        ]
        scalar.append(float(apr(flows).annual))
    t_apr_loop = (time.perf_counter() - t0) * apr_sample.height / k
    agree = float(np.max(np.abs(np.array(scalar) - simple[:k])))
    term = apr_sample["term"].to_numpy()
    pmt = -amounts[np.arange(len(term)), 1] / 100
    t_npf_rate = float("nan")
    if has_npf:
        import numpy_financial as npf  # noqa: PLC0415 (a peer, optional in a tiny run)

        t_npf_rate, _ = _timed(lambda: npf.rate(term, pmt, amounts[:, 0] / 100, 0))

    def row(
        workload: str, engine: str, seconds: float, base: float, rows: int = 0
    ) -> dict[str, object]:
        return {
            "workload": workload,
            "engine": engine,
            "seconds": seconds,
            "rows": rows,
            "ratio": seconds / base,
        }

    loops = f"({args.loop_sample:,} timed, scaled)"
    rows_out = [
        row(
            f"schedules, {book.height:,} loans",
            "fengkong batch (int fen, exact)",
            t_batch,
            t_batch,
            rows.height,
        ),
        row(
            f"schedules, {n_ann:,} equal-instalment loans",
            "peer: numpy-financial ipmt/ppmt (float)" + ("" if has_npf else f" ({SKIPPED})"),
            t_npf,
            t_batch,
        ),
        row(
            f"schedules, {book.height:,} loans",
            f"peer: per-loan Decimal loop {loops}",
            t_loop,
            t_batch,
        ),
        row(
            f"end of day, {book.height:,} loans",
            "fengkong run_eod (vectorised)",
            t_eod,
            t_eod,
            state.lines.height,
        ),
        row(
            f"end of day, {book.height:,} loans",
            f"peer: per-loan replay loop ({k_eod:,} timed, scaled)",
            t_eod_loop,
            t_eod,
        ),
        row(
            f"APR, {apr_sample.height:,} loans, irregular dates",
            "fengkong apr_batch",
            t_apr,
            t_apr,
            apr_sample.height,
        ),
        row(
            f"APR, {apr_sample.height:,} loans, irregular dates",
            f"peer: per-loan apr() loop ({k:,} timed, scaled)",
            t_apr_loop,
            t_apr,
        ),
        row(
            f"APR, {apr_sample.height:,} loans as regular",
            "peer: numpy-financial rate (vectorised, no dates)"
            + ("" if has_npf else f" ({SKIPPED})"),
            t_npf_rate,
            t_apr,
        ),
    ]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(
        f"apr_batch vs scalar apr(): max difference {agree:.2e}; peak RSS of the whole run {peak:.2f} GB"
    )
    meta = {
        "loans": book.height,
        "apr_loans": apr_sample.height,
        "apr_max_difference": agree,
        "peak_gb": peak,
    }
    path = report("servicing", rows_out, meta)
    print(f"written {path}")


if __name__ == "__main__":
    main()
