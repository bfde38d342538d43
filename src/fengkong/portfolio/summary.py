"""Pool summary at a month end: balances and delinquency by segment, ABS-style.

Ratios are shares of the outstanding principal of open loans (current or delinquent) at the
month-end snapshot: ``dpd_30_plus`` is the balance 30 or more days past due over the whole
open balance (the convention of the Huabei ABS figures in ``shared/DOMAIN.md``).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

__all__ = ["pool_summary"]

_OPEN = ("current", "delinquent")


def pool_summary(
    loans: pl.DataFrame, performance: pl.DataFrame, month: dt.date, *, by: str = "product"
) -> pl.DataFrame:
    """One row per value of ``by`` and a final ``Total`` row for the snapshot month of ``month``.

    Parameters
    ----------
    loans, performance : pl.DataFrame
        Tables with the synthetic book's schemas (``docs/data-model.md``).
    month : datetime.date
        Any day of the snapshot month; loans disbursed after it are left out.
    by : str
        A column of ``loans`` to segment by.

    Examples
    --------
    >>> import datetime as dt
    >>> from fengkong.synth import generate
    >>> book = generate(5_000, seed=2)
    >>> table = pool_summary(book.loans, book.performance, dt.date(2026, 1, 1))
    >>> table["product"].to_list()[-1]
    'Total'
    """
    start = dt.date(month.year, month.month, 1)
    snap = performance.filter(pl.col("snapshot_on").dt.truncate("1mo") == start)
    written = (
        performance.filter(pl.col("snapshot_on") < pl.lit(start).dt.offset_by("1mo"))
        .group_by("loan_id")
        .agg(pl.col("written_off_fen").sum(), pl.col("recovered_fen").sum())
    )
    base = (
        loans.filter(pl.col("disbursed_on") < pl.lit(start).dt.offset_by("1mo"))
        .select("loan_id", by, "principal_fen")
        .join(
            snap.select("loan_id", "status", "dpd", "principal_balance_fen"),
            on="loan_id",
            how="left",
        )
        .join(written, on="loan_id", how="left")
        .with_columns(
            open_fen=pl.when(pl.col("status").is_in(_OPEN))
            .then("principal_balance_fen")
            .otherwise(0)
            .fill_null(0)
        )
    )

    def aggregate(frame: pl.DataFrame | pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
        lazy = frame.lazy()
        aggs = [
            pl.len().alias("loans"),
            pl.col("principal_fen").sum().alias("disbursed_fen"),
            pl.col("open_fen").sum().alias("outstanding_fen"),
            *(
                (
                    pl.col("open_fen").filter(pl.col("dpd") >= d).sum() / pl.col("open_fen").sum()
                ).alias(f"dpd_{d}_plus")
                for d in (1, 30, 90)
            ),
            pl.col("written_off_fen").sum().alias("written_off_fen"),
            pl.col("recovered_fen").sum().alias("recovered_fen"),
        ]
        return lazy.group_by(keys).agg(aggs) if keys else lazy.select(aggs)

    segments = aggregate(base, [by]).sort(by).with_columns(pl.col(by).cast(pl.String))
    total = aggregate(base, []).with_columns(pl.lit("Total").alias(by))
    return (
        pl.concat([segments, total.select(segments.collect_schema().names())])
        .collect()
        .with_columns(pl.col("^dpd_.*$").fill_nan(0.0).fill_null(0.0))
    )
