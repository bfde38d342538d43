"""Promises to pay: made with an amount and a date, kept or broken automatically at end of day.

A promise pauses the case's actions until its date (:func:`paused_cases`). At end of day,
:func:`evaluate_promises` compares each pending promise with the case's payments from the
day it was made: paid in full by the promised date → ``kept`` (that day); the date passed
without it → ``broken`` (the next day), which puts the case back into its strategy.

>>> import datetime as dt
>>> p = make_promise("a-20260301", amount_fen=50_000, due_on=dt.date(2026, 3, 10),
...                  today=dt.date(2026, 3, 2), made_by="agent-7")
>>> pays = pl.DataFrame({"case_id": ["a-20260301"], "paid_on": [dt.date(2026, 3, 9)],
...                      "amount_fen": [50_000]})
>>> evaluate_promises(promises_frame([p]), pays, dt.date(2026, 3, 9))["status"].to_list()
['kept']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from fengkong.errors import InvalidArgumentError

__all__ = [
    "PROMISE_SCHEMA",
    "Promise",
    "evaluate_promises",
    "make_promise",
    "paused_cases",
    "promises_frame",
]

PROMISE_SCHEMA: dict[str, Any] = {
    "case_id": pl.String,
    "amount_fen": pl.Int64,
    "due_on": pl.Date,
    "made_on": pl.Date,
    "made_by": pl.String,
    "status": pl.String,  # pending | kept | broken
    "resolved_on": pl.Date,
}


@dataclass(frozen=True, slots=True)
class Promise:
    """A promise to pay ``amount_fen`` by ``due_on`` (inclusive)."""

    case_id: str
    amount_fen: int
    due_on: dt.date
    made_on: dt.date
    made_by: str
    status: str = "pending"
    resolved_on: dt.date | None = None


def make_promise(
    case_id: str,
    *,
    amount_fen: int,
    due_on: dt.date,
    today: dt.date,
    made_by: str,
    max_days: int = 30,
    balance_fen: int | None = None,
) -> Promise:
    """A checked promise: a positive amount (not above the balance, when given), a date from
    today up to ``max_days`` ahead."""
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise InvalidArgumentError(
            "amount_fen", expected="a positive whole number of fen", got=amount_fen
        )
    if balance_fen is not None and amount_fen > balance_fen:
        raise InvalidArgumentError(
            "amount_fen", expected=f"at most the balance ({balance_fen} fen)", got=amount_fen
        )
    if due_on < today:
        raise InvalidArgumentError("due_on", expected=f"today ({today}) or later", got=due_on)
    if due_on > today + dt.timedelta(days=max_days):
        raise InvalidArgumentError(
            "due_on", expected=f"within {max_days} days of {today}", got=due_on
        )
    return Promise(case_id, amount_fen, due_on, today, made_by)


def promises_frame(promises: Iterable[Promise]) -> pl.DataFrame:
    """Promises as a frame (``PROMISE_SCHEMA``)."""
    return pl.DataFrame([asdict(p) for p in promises], schema=PROMISE_SCHEMA)


def evaluate_promises(
    promises: pl.DataFrame, payments: pl.DataFrame, as_of: dt.date
) -> pl.DataFrame:
    """Promises after end of day ``as_of``: pending ones become kept or broken.

    ``payments`` has ``case_id, paid_on, amount_fen``; payments from the day a promise was
    made through ``as_of`` (and not after its date) count towards it.
    """
    pending = promises.filter(pl.col("status") == "pending").with_row_index("__p")
    paid = (
        pending.select("__p", "case_id", "made_on", "due_on")
        .join(payments.select("case_id", "paid_on", "amount_fen"), on="case_id", how="inner")
        .filter(
            (pl.col("paid_on") >= pl.col("made_on"))
            & (pl.col("paid_on") <= pl.col("due_on"))
            & (pl.col("paid_on") <= as_of)
        )
        .group_by("__p")
        .agg(pl.col("amount_fen").sum().alias("__paid"))
    )
    judged = pending.join(paid, on="__p", how="left").with_columns(pl.col("__paid").fill_null(0))
    kept = pl.col("__paid") >= pl.col("amount_fen")
    broken = ~kept & (pl.col("due_on") < as_of)
    judged = judged.with_columns(
        pl.when(kept)
        .then(pl.lit("kept"))
        .when(broken)
        .then(pl.lit("broken"))
        .otherwise(pl.lit("pending"))
        .alias("status"),
        pl.when(kept | broken).then(pl.lit(as_of)).otherwise(None).alias("resolved_on"),
    )
    done = promises.filter(pl.col("status") != "pending")
    return pl.concat([done, judged.select(list(PROMISE_SCHEMA))]).cast(PROMISE_SCHEMA)  # type: ignore[arg-type]


def paused_cases(promises: pl.DataFrame, as_of: dt.date) -> pl.Series:
    """Cases whose actions pause today: a pending promise whose date has not passed."""
    return (
        promises.filter((pl.col("status") == "pending") & (pl.col("due_on") >= as_of))["case_id"]
        .unique()
        .sort()
    )
