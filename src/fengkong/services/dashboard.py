"""Portfolio figures over the servicing database: KPIs, vintage curves and roll rates.

What management reads on the dashboard (and ``GET /v1/portfolio/...``), computed from the
booked loans, their delinquency-bucket history and the stored decisions — the servicing
book as end of day left it, not the synthetic generator's tables.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengkong.db.models import BucketHistoryRecord, DecisionRecord, EodRunRecord, LoanRecord
from fengkong.services.servicing import delinquency_snapshot

__all__ = ["BUCKETS", "kpis", "roll_rates", "vintage_curves"]

BUCKETS = ("M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+")
_THIRTY_PLUS = BUCKETS[2:]


def _as_of(session: Session) -> dt.date | None:
    found: dt.date | None = session.scalar(select(func.max(EodRunRecord.business_date)))
    return found


def kpis(session: Session) -> dict[str, Any]:
    """Headline figures: loans by status, principal outstanding, 30+/90+ shares of the open
    balance, open cases and the decisions' approval rate.

    >>> from fengkong.db import make_engine, migrate, session_factory
    >>> engine = make_engine("sqlite:///:memory:"); migrate(engine)
    >>> with session_factory(engine)() as s:
    ...     kpis(s)["loans"]
    0
    """
    as_of = _as_of(session)  # the last end of day; before the first one, the book as booked
    book = delinquency_snapshot(session, as_of or dt.date.min)
    open_ = book.filter(pl.col("status").is_in(["active", "overdue"]))
    balance = int(open_["balance_fen"].sum() or 0)

    def share(min_dpd: int) -> float:
        late = int(open_.filter(pl.col("dpd") >= min_dpd)["balance_fen"].sum() or 0)
        return round(late / balance, 4) if balance else 0.0

    decided = dict(
        session.execute(
            select(DecisionRecord.decision, func.count()).group_by(DecisionRecord.decision)
        ).all()
    )
    total = sum(decided.values())
    return {
        "as_of": as_of.isoformat() if as_of else None,
        "loans": book.height,
        "by_status": dict(book.group_by("status").len().sort("status").iter_rows()),
        "outstanding_fen": balance,
        "dpd_30_plus": share(30),
        "dpd_90_plus": share(90),
        "decisions": total,
        "approval_rate": round(decided.get("approve", 0) / total, 4) if total else None,
        "decisions_by_outcome": decided,
    }


def _months(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Whole calendar months from ``a`` to ``b``."""
    return (b.dt.year() - a.dt.year()) * 12 + b.dt.month() - a.dt.month()


def _history(session: Session) -> pl.DataFrame:
    rows = session.execute(
        select(
            BucketHistoryRecord.loan_id,
            BucketHistoryRecord.bucket,
            BucketHistoryRecord.entered_on,
            BucketHistoryRecord.left_on,
            LoanRecord.disbursed_on,
        ).join(LoanRecord, LoanRecord.id == BucketHistoryRecord.loan_id)
    ).all()
    schema = {"loan_id": pl.Int64, "bucket": pl.String, "entered_on": pl.Date,
              "left_on": pl.Date, "disbursed_on": pl.Date}  # fmt: skip
    return pl.DataFrame(rows, schema=schema, orient="row")


def vintage_curves(session: Session, *, bucket: str = "M2") -> pl.DataFrame:
    """Share of each disbursement month's loans that ever reached ``bucket`` or worse
    (default M2 = 30+ days past due), by months on book: ``vintage, mob, loans, share``."""
    worse = BUCKETS[BUCKETS.index(bucket) :]
    history = _history(session)
    if history.is_empty():
        return pl.DataFrame(schema={"vintage": pl.Date, "mob": pl.Int64, "loans": pl.UInt32,
                                    "share": pl.Float64})  # fmt: skip
    as_of = _as_of(session) or history["entered_on"].max()
    loans = history.group_by("loan_id").agg(pl.col("disbursed_on").first())
    first_bad = (
        history.filter(pl.col("bucket").is_in(worse))
        .group_by("loan_id")
        .agg(pl.col("entered_on").min().alias("bad_on"))
    )
    frame = loans.join(first_bad, on="loan_id", how="left").with_columns(
        pl.col("disbursed_on").dt.truncate("1mo").alias("vintage"),
        _months(pl.col("disbursed_on"), pl.col("bad_on")).alias("bad_mob"),
        _months(pl.col("disbursed_on"), pl.lit(as_of)).alias("age"),
    )
    horizon = int(cast(int, frame["age"].max()) or 0)
    grid = frame.join(pl.DataFrame({"mob": list(range(1, horizon + 1))}), how="cross").filter(
        pl.col("mob") <= pl.col("age")
    )
    return (
        grid.group_by("vintage", "mob")
        .agg(
            pl.len().alias("loans"),
            (pl.col("bad_mob").is_not_null() & (pl.col("bad_mob") <= pl.col("mob")))
            .mean()
            .alias("share"),
        )
        .sort("vintage", "mob")
    )


def roll_rates(session: Session) -> pl.DataFrame:
    """Month-end to month-end roll rates between buckets: ``month, from, to_worse, loans,
    rate`` — the share of loans in ``from`` at the previous month end that are in a worse
    bucket at this one."""
    history = _history(session)
    if history.is_empty():
        return pl.DataFrame(schema={"month": pl.Date, "from": pl.String, "loans": pl.UInt32,
                                    "rate": pl.Float64})  # fmt: skip
    as_of = _as_of(session) or history["entered_on"].max()
    start = cast(dt.date, history["disbursed_on"].min())
    ends = pl.date_range(start, cast(dt.date, as_of), "1mo", eager=True)
    ends = ends.dt.month_end().unique().sort()
    ends = ends.filter(ends <= cast(dt.date, as_of))
    at = history.join(pl.DataFrame({"month": ends}), how="cross").filter(
        (pl.col("entered_on") <= pl.col("month"))
        & (pl.col("left_on").is_null() | (pl.col("left_on") > pl.col("month")))
    )
    order = {b: k for k, b in enumerate(BUCKETS)}
    at = at.select(
        "loan_id", "month", pl.col("bucket").replace_strict(order, return_dtype=pl.Int64)
    )
    pairs = at.join(
        at.with_columns(pl.col("month").dt.offset_by("1mo").dt.month_end()),
        on=["loan_id", "month"],
        suffix="_before",
    )
    return (
        pairs.group_by("month", "bucket_before")
        .agg(
            pl.len().alias("loans"),
            (pl.col("bucket") > pl.col("bucket_before")).mean().alias("rate"),
        )
        .with_columns(
            pl.col("bucket_before")
            .replace_strict(dict(enumerate(BUCKETS)), return_dtype=pl.String)
            .alias("from")
        )
        .select("month", "from", "loans", "rate")
        .sort("month", "from")
    )
