"""Stratification tables in the style of a consumer-ABS prospectus, at one month end.

:func:`pool_overview` gives the pool summary (loans, balances, average and weighted-average
rate, original and remaining term, seasoning); :func:`stratify` one distribution table per
attribute: band, loans, share of loans, balance, share of balance, balance-weighted rate,
remaining term and seasoning. Band edges are data (:data:`DEFAULT_BANDS`, money in fen);
every band is listed, empty ones with zeros, so tables of different months line up.

Examples
--------
>>> from fengkong.synth import generate
>>> from fengkong.portfolio import monthly_panel
>>> book = generate(3_000, seed=4)
>>> pool = pool_loans(monthly_panel(book.loans, book.performance), book.loans, month=dt.date(2025, 9, 1))
>>> tables = stratify(pool)
>>> sorted(tables)[:3]
['balance', 'original_term', 'product']
>>> round(sum(tables["balance"]["share_balance"]), 6)
1.0
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from itertools import pairwise

import numpy as np
import polars as pl

from fengkong.errors import InvalidArgumentError

__all__ = ["DEFAULT_BANDS", "pool_loans", "pool_overview", "stratify"]

#: Band edges per numeric attribute (lower edges; the last band is open). Money in fen.
DEFAULT_BANDS: Mapping[str, Sequence[int]] = {
    "balance": [0, 100_000, 300_000, 600_000, 1_000_000, 2_000_000, 5_000_000],
    "remaining_term": [0, 4, 7, 13, 25],
    "seasoning": [0, 4, 7, 13, 25],
    "age": [18, 25, 30, 35, 40, 50, 60],
    "score": [0, 500, 550, 600, 650, 700],
}
#: Attributes shown value by value.
CATEGORIES = ("original_term", "product", "province", "status")


def pool_loans(
    panel: pl.DataFrame,
    loans: pl.DataFrame,
    *,
    month: dt.date,
    attributes: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Open loans at the month end of ``month``: balance, rate, terms, seasoning, status and
    any ``attributes`` (a frame keyed by ``loan_id``: age, province, score ...)."""
    start = dt.date(month.year, month.month, 1)
    pool = (
        panel.filter(
            (pl.col("month") == start) & ~pl.col("state").is_in(["paid_off", "written_off"])
        )
        .join(
            loans.select("loan_id", "rate_bp", pl.col("term").alias("original_term")), on="loan_id"
        )
        .select(
            "loan_id",
            "balance_fen",
            "rate_bp",
            pl.col("original_term").cast(pl.Int32),
            (pl.col("original_term").cast(pl.Int32) - pl.col("mob"))
            .clip(0)
            .alias("remaining_term"),
            pl.col("mob").alias("seasoning"),
            pl.col("state").alias("status"),
            *(c for c in ("product",) if c in panel.columns),
        )
    )
    if attributes is not None:
        pool = pool.join(attributes, on="loan_id", how="left")
    return pool


def _weighted(column: str) -> pl.Expr:
    total = pl.col("balance_fen").sum()
    return pl.when(total > 0).then((pl.col(column) * pl.col("balance_fen")).sum() / total)


def pool_overview(pool: pl.DataFrame) -> pl.DataFrame:
    """One row: loans, balance, average balance, weighted-average rate, terms and seasoning."""
    return pool.select(
        pl.len().alias("loans"),
        pl.col("balance_fen").sum(),
        pl.col("balance_fen").mean().alias("average_balance_fen"),
        _weighted("rate_bp").alias("wa_rate_bp"),
        _weighted("original_term").alias("wa_original_term"),
        _weighted("remaining_term").alias("wa_remaining_term"),
        _weighted("seasoning").alias("wa_seasoning"),
    )


def _band_labels(edges: Sequence[int], money: bool) -> list[str]:
    def fmt(v: int) -> str:
        return f"{v / 100:,.0f}" if money else str(v)

    labels = [f"[{fmt(lo)}, {fmt(hi)})" for lo, hi in pairwise(edges)]
    return [f"< {fmt(edges[0])}", *labels, f">= {fmt(edges[-1])}"]


def stratify(
    pool: pl.DataFrame,
    *,
    bands: Mapping[str, Sequence[int]] = DEFAULT_BANDS,
    categories: Sequence[str] = CATEGORIES,
) -> dict[str, pl.DataFrame]:
    """One distribution table per attribute present in ``pool`` (see :func:`pool_loans`)."""
    if "balance_fen" not in pool.columns:
        raise InvalidArgumentError(
            "pool", expected="a frame from pool_loans (balance_fen ...)", got=pool.columns
        )
    tables: dict[str, pl.DataFrame] = {}
    source = {"balance": "balance_fen"}
    for name, edges in bands.items():
        column = source.get(name, name)
        if column not in pool.columns:
            continue
        if list(edges) != sorted(edges):
            raise InvalidArgumentError(f"bands.{name}", expected="increasing edges", got=edges)
        labels = _band_labels(edges, money=name == "balance")
        values = pool[column].to_numpy()
        index = np.searchsorted(np.asarray(edges), values, side="right")
        banded = pool.with_columns(pl.Series("band", index, dtype=pl.Int32))
        frame = pl.DataFrame({"band": np.arange(len(labels), dtype=np.int32), name: labels})
        tables[name] = _table(banded, "band", frame).drop("band")
    for name in categories:
        if name in pool.columns:
            levels = pool.select(pl.col(name).unique().sort()).rename({name: "__v"})
            tables[name] = _table(
                pool.with_columns(pl.col(name).alias("__v")), "__v", levels
            ).rename({"__v": name})
    return tables


def _table(pool: pl.DataFrame, key: str, frame: pl.DataFrame) -> pl.DataFrame:
    stats = pool.group_by(key).agg(
        pl.len().alias("loans"),
        pl.col("balance_fen").sum(),
        _weighted("rate_bp").alias("wa_rate_bp"),
        _weighted("remaining_term").alias("wa_remaining_term"),
        _weighted("seasoning").alias("wa_seasoning"),
    )
    out = frame.join(stats, on=key, how="left").with_columns(
        pl.col("loans").fill_null(0), pl.col("balance_fen").fill_null(0)
    )
    total_loans, total_balance = max(pool.height, 1), max(int(pool["balance_fen"].sum()), 1)
    return out.with_columns(
        (pl.col("loans") / total_loans).alias("share_loans"),
        (pl.col("balance_fen") / total_balance).alias("share_balance"),
    ).select(
        *frame.columns,
        "loans",
        "share_loans",
        "balance_fen",
        "share_balance",
        "wa_rate_bp",
        "wa_remaining_term",
        "wa_seasoning",
    )
