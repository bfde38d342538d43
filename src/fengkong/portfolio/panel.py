"""The monthly performance panel: one row per loan and month on book, the input of every report.

Built from the book's month-end snapshots (``performance``, see ``docs/data-model.md``) and its
loans. Buckets are recomputed from DPD with configurable ranges (default M0..M7+, DOMAIN.md).
``state`` is the bucket while the loan is open, ``paid_off`` once settled or prepaid, and
``written_off`` from its write-off on; roll-rate matrices read it.

Examples
--------
>>> from fengkong.synth import generate
>>> book = generate(2_000, seed=3)
>>> panel = monthly_panel(book.loans, book.performance)
>>> panel.columns[:6]
['loan_id', 'vintage', 'month', 'mob', 'principal_fen', 'balance_fen']
>>> sorted(panel["state"].unique().to_list())[:3]
['M0', 'M1', 'M2']
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from fengkong.errors import InvalidArgumentError
from fengkong.servicing.ledger import BUCKETS

__all__ = ["OPEN", "bucket_expr", "monthly_panel", "months_between"]

OPEN = ("current", "delinquent")
Buckets = Sequence[tuple[str, int | None]]
_PERFORMANCE = (
    "loan_id",
    "mob",
    "snapshot_on",
    "paid_fen",
    "principal_balance_fen",
    "dpd",
    "status",
    "written_off_fen",
    "recovered_fen",
)


def bucket_expr(dpd: pl.Expr, buckets: Buckets = BUCKETS) -> pl.Expr:
    """The bucket name of each DPD as a Polars expression (ranges as (name, upper DPD))."""
    raw = [u for _, u in buckets[:-1]]
    uppers = [u for u in raw if u is not None]
    if len(uppers) != len(raw) or uppers != sorted(uppers):
        raise InvalidArgumentError(
            "buckets",
            expected="(name, upper DPD) pairs in increasing order, the last open",
            got=buckets,
        )
    names = [n for n, _ in buckets]
    expr = pl.when(dpd <= uppers[0]).then(pl.lit(names[0])) if uppers else pl.lit(names[-1])
    for name, upper in zip(names[1:-1], uppers[1:], strict=True):
        expr = expr.when(dpd <= upper).then(pl.lit(name))  # type: ignore[attr-defined]
    return expr.otherwise(pl.lit(names[-1])) if uppers else expr  # type: ignore[attr-defined]


def _require(frame: pl.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidArgumentError(
            name, expected=f"columns {list(columns)}", got=f"missing {missing}"
        )


def monthly_panel(
    loans: pl.DataFrame,
    performance: pl.DataFrame,
    *,
    segments: Sequence[str] = ("product",),
    buckets: Buckets = BUCKETS,
) -> pl.DataFrame:
    """Loan × month panel: vintage, month, MOB, balances, DPD, bucket, state, cash and losses.

    ``segments`` are columns of ``loans`` carried onto every row (product, institution_id, a
    score band, a policy arm ...). Months are the first day of the snapshot month.
    """
    _require(loans, ["loan_id", "principal_fen", "disbursed_on", *segments], "loans")
    _require(performance, _PERFORMANCE, "performance")
    bucket = bucket_expr(pl.col("dpd"), buckets)
    state = (
        pl.when(pl.col("status").is_in(OPEN))
        .then(bucket)
        .when(pl.col("status") == "written_off")
        .then(pl.lit("written_off"))
        .otherwise(pl.lit("paid_off"))
    )
    return (
        performance.select(_PERFORMANCE)
        .join(loans.select("loan_id", "principal_fen", "disbursed_on", *segments), on="loan_id")
        .select(
            "loan_id",
            pl.col("disbursed_on").dt.truncate("1mo").alias("vintage"),
            pl.col("snapshot_on").dt.truncate("1mo").alias("month"),
            pl.col("mob").cast(pl.Int32),
            "principal_fen",
            pl.col("principal_balance_fen").alias("balance_fen"),
            "dpd",
            bucket.alias("bucket"),
            state.alias("state"),
            "status",
            "paid_fen",
            "written_off_fen",
            "recovered_fen",
            *segments,
        )
        .sort("loan_id", "month")
    )


def months_between(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """Whole months from ``start`` to ``end`` (both month starts)."""
    return (end.dt.year() - start.dt.year()) * 12 + end.dt.month() - start.dt.month()
