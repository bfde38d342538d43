"""Collection cases: one per borrower across their delinquent loans, opened and closed daily.

:func:`update_cases` takes yesterday's open cases and today's loan snapshot (after end of
day) and returns today's cases with what happened to each: a borrower with a loan past due
gets a case (one, whatever the number of loans); the stage follows the largest days past
due (:class:`Stages`, data) unless the case was placed with an agency or referred to legal;
a case whose loans are all current again closes as ``cured``, one whose loans are all paid
off as ``settled``; a written-off balance keeps the case open in ``recovery``. No case is
opened for arrears below ``min_case_fen``, and an open case whose arrears fall below it
closes as ``cured`` (de minimis: a residue of rounding is not a debt to collect; it stays on
the ledger for servicing to waive; the caller passes the lender's setting,
``Settings.collections_min_case_fen``, CNY 10 by default).

>>> import datetime as dt
>>> loans = pl.DataFrame({"loan_id": [1, 2, 3], "borrower_id": ["a", "a", "b"],
...                       "dpd": [12, 45, 0], "overdue_fen": [500, 900, 0],
...                       "balance_fen": [5000, 9000, 7000],
...                       "status": ["delinquent", "delinquent", "current"]})
>>> cases, events = update_cases(None, loans, dt.date(2026, 3, 2))
>>> cases.select("case_id", "stage", "max_dpd", "overdue_fen", "loans").to_dicts()
[{'case_id': 'a-20260302', 'stage': 'middle', 'max_dpd': 45, 'overdue_fen': 1400, 'loans': [1, 2]}]
>>> update_cases(None, loans, dt.date(2026, 3, 2), min_case_fen=1_500)[0].height  # de minimis
0
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

import polars as pl

from fengkong.errors import InvalidArgumentError

__all__ = ["CASE_SCHEMA", "DEFAULT_MIN_CASE_FEN", "Stages", "update_cases"]

CASE_SCHEMA: dict[str, Any] = {
    "case_id": pl.String,
    "borrower_id": pl.String,
    "opened_on": pl.Date,
    "closed_on": pl.Date,
    "status": pl.String,  # open | recovery | cured | settled
    "stage": pl.String,  # early | middle | late | agency | legal | recovery
    "max_dpd": pl.Int64,
    "overdue_fen": pl.Int64,
    "balance_fen": pl.Int64,
    "written_off_fen": pl.Int64,
    "loans": pl.List(pl.Int64),
    "placement": pl.String,  # null | agency | legal
}
_LOAN_COLUMNS = ("loan_id", "borrower_id", "dpd", "overdue_fen", "balance_fen", "status")
_PAID = ("settled", "prepaid", "paid_off")
#: No case below CNY 10 of arrears unless the caller says otherwise (the default of
#: ``Settings.collections_min_case_fen``; see there for the reason).
DEFAULT_MIN_CASE_FEN = 1_000


@dataclass(frozen=True, slots=True)
class Stages:
    """Stage bands by days past due (the lender's configuration; M1 / M2–M3 / M4+ default)."""

    bands: tuple[tuple[str, int], ...] = (("early", 1), ("middle", 31), ("late", 91))

    def expr(self, dpd: pl.Expr) -> pl.Expr:
        """The stage of a DPD as a Polars expression (bands by their lowest DPD)."""
        out: Any = pl.when(dpd < self.bands[0][1]).then(pl.lit(None, pl.String))
        for (name, _), (_, high) in itertools.pairwise(self.bands):
            out = out.when(dpd < high).then(pl.lit(name))
        result: pl.Expr = out.otherwise(pl.lit(self.bands[-1][0]))
        return result


def update_cases(
    cases: pl.DataFrame | None,
    loans: pl.DataFrame,
    as_of: dt.date,
    *,
    stages: Stages | None = None,
    min_case_fen: int = DEFAULT_MIN_CASE_FEN,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Today's cases (open and closed today) and the day's events.

    ``cases`` are yesterday's open cases (``CASE_SCHEMA``) or None; ``loans`` has
    ``loan_id, borrower_id, dpd, overdue_fen, balance_fen, status``. Events: ``opened``,
    ``stage`` (changed), ``cured``, ``settled``, ``recovery``. ``min_case_fen``: no new case
    for a borrower whose arrears (the overdue amount of their late loans) are below it.
    """
    if isinstance(min_case_fen, bool) or not isinstance(min_case_fen, int) or min_case_fen < 0:
        raise InvalidArgumentError(
            "min_case_fen", expected="a non-negative whole number of fen", got=min_case_fen
        )
    missing = [c for c in _LOAN_COLUMNS if c not in loans.columns]
    if missing:
        raise InvalidArgumentError(
            "loans", expected=f"columns {_LOAN_COLUMNS}", got=f"missing {missing}"
        )
    stages = stages or Stages()
    previous = (
        pl.DataFrame(schema=CASE_SCHEMA)
        if cases is None
        else cases.filter(pl.col("status").is_in(["open", "recovery"])).select(list(CASE_SCHEMA))
    )
    book = loans.select(
        pl.col("loan_id").cast(pl.Int64),
        pl.col("borrower_id").cast(pl.String),
        pl.col("dpd").cast(pl.Int64),
        pl.col("overdue_fen").cast(pl.Int64),
        pl.col("balance_fen").cast(pl.Int64),
        pl.col("status").cast(pl.String),
    )
    written = pl.col("status") == "written_off"
    late = (pl.col("dpd") > 0) & ~written & ~pl.col("status").is_in(_PAID)
    per_borrower = book.group_by("borrower_id").agg(
        late.any().alias("__late"),
        pl.col("dpd").filter(late).max().fill_null(0).alias("max_dpd"),
        pl.col("overdue_fen").filter(late).sum().alias("overdue_fen"),
        pl.col("balance_fen").filter(late).sum().alias("balance_fen"),
        pl.col("balance_fen").filter(written).sum().alias("written_off_fen"),
        pl.col("loan_id")
        .filter(late | (written & (pl.col("balance_fen") > 0)))
        .sort()
        .alias("loans"),
        pl.col("status").is_in(_PAID).all().alias("__paid"),
    )
    # de minimis: arrears below the threshold are no case (a residue of rounding)
    per_borrower = per_borrower.with_columns(
        pl.col("__late") & (pl.col("overdue_fen") >= min_case_fen)
    )
    joined = per_borrower.join(previous, on="borrower_id", how="full", coalesce=True, suffix="_was")
    has_case = pl.col("case_id").is_not_null()
    owes_written = pl.col("written_off_fen").fill_null(0) > 0
    status = (
        pl.when(pl.col("__late").fill_null(False))
        .then(pl.lit("open"))
        .when(owes_written)
        .then(pl.lit("recovery"))
        .when(pl.col("__paid").fill_null(False))
        .then(pl.lit("settled"))
        .otherwise(pl.lit("cured"))
    )
    today = joined.filter(pl.col("__late").fill_null(False) | has_case).with_columns(
        status.alias("__status")
    )
    today = today.filter(has_case | (pl.col("__status") == "open"))
    opened = ~has_case
    stage = (
        pl.when(pl.col("__status") == "recovery")
        .then(pl.lit("recovery"))
        .when(pl.col("placement").is_not_null())
        .then(pl.col("placement"))
        .otherwise(stages.expr(pl.col("max_dpd")))
    )
    out = today.with_columns(
        pl.when(opened)
        .then(pl.col("borrower_id") + pl.lit(f"-{as_of:%Y%m%d}"))
        .otherwise(pl.col("case_id"))
        .alias("case_id"),
        pl.when(opened).then(pl.lit(as_of)).otherwise(pl.col("opened_on")).alias("opened_on"),
        pl.when(pl.col("__status").is_in(["cured", "settled"]))
        .then(pl.lit(as_of))
        .otherwise(None)
        .alias("closed_on"),
        pl.col("__status").alias("status"),
        stage.alias("stage"),
        pl.col("stage").alias("__stage_was"),
        opened.alias("__opened"),
    ).with_columns(
        pl.col("max_dpd").fill_null(0),
        pl.col("overdue_fen").fill_null(0),
        pl.col("balance_fen").fill_null(0),
        pl.col("written_off_fen").fill_null(0),
        pl.col("loans").fill_null([]),
    )
    event = (
        pl.when(pl.col("__opened"))
        .then(pl.lit("opened"))
        .when(pl.col("status").is_in(["cured", "settled"]))
        .then(pl.col("status"))
        .when((pl.col("status") == "recovery") & (pl.col("__stage_was") != "recovery"))
        .then(pl.lit("recovery"))
        .when(pl.col("stage") != pl.col("__stage_was"))
        .then(pl.lit("stage"))
    )
    events = (
        out.select(
            "case_id",
            pl.lit(as_of).alias("on"),
            event.alias("event"),
            pl.col("__stage_was").alias("from_stage"),
            pl.col("stage").alias("to_stage"),
        )
        .filter(pl.col("event").is_not_null())
        .sort("case_id")
    )
    return out.select(list(CASE_SCHEMA)).cast(CASE_SCHEMA).sort("case_id"), events  # type: ignore[arg-type]
