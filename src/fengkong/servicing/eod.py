"""End of day over a whole book, vectorised: the same results as replaying each loan.

``run_eod(book, payments, business_date)`` takes the book's state at the end of the previous
business day and returns it at the end of ``business_date``: the day's repayments (summed per
loan, as the fold sums a day's repayments) allocated by the waterfall over what is due now
(switching to its NPA order at ``allocation.npa_dpd``), a full payoff cancelling unearned interest and fees,
penalty interest on overdue principal, late fees after the grace days, DPD, bucket, status
and NPA contagion across a borrower's loans. A loan already at ``business_date`` is left as
it is, so running the same date twice changes nothing; a settled or written-off loan only has
its ``last_eod`` carried to the day (the day is closed for it too). A property test requires every
instalment's amounts, the DPD and the status to equal :func:`fengkong.servicing.ledger.replay`
run day by day.

The book is two frames: ``loans`` (``loan_id``, ``borrower_id``, ``disbursed_on``,
``rate_ppm``, ``penalty_multiplier_ppm``, ``late_fee_fen``, ``grace_days``, ``status``,
``last_eod``) and ``lines`` (``loan_id``, ``instalment``, ``due_on``, ``due_<component>``,
``paid_<component>`` for penalty, fee, interest and principal, ``late_fee_charged``);
:func:`open_book` builds them from schedules. Payments: ``loan_id``, ``amount_fen``.

A payment in advance (more than is due now, less than the payoff) re-amortises the loan or is
held as a credit (Civil Code art. 677, see :mod:`fengkong.servicing.ledger`): rare, and done
by the per-loan fold. :func:`payments_in_advance` names those loans; ``run_eod`` refuses them,
and :func:`fengkong.services.servicing.run_end_of_day` services them with the fold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from fengkong.errors import InvalidArgumentError
from fengkong.money import mul_div_round_half_even
from fengkong.servicing.ledger import BUCKETS, Allocation

__all__ = ["Book", "open_book", "payments_in_advance", "run_eod"]

COMPONENTS = ("penalty", "fee", "interest", "principal")
_WHEN = {"past_due": 0, "due": 1, "in_advance": 2}


@dataclass(frozen=True, slots=True)
class Book:
    """A book's servicing state at the end of a business day."""

    loans: pl.DataFrame
    lines: pl.DataFrame


def open_book(loans: pl.DataFrame, schedule_rows: pl.DataFrame) -> Book:
    """The state of newly booked loans: nothing paid, no penalty, first end of day on disbursement."""
    lines = schedule_rows.select(
        "loan_id",
        "instalment",
        "due_on",
        pl.lit(0, pl.Int64).alias("due_penalty"),
        pl.col("fee_fen").alias("due_fee"),
        pl.col("interest_fen").alias("due_interest"),
        pl.col("principal_fen").alias("due_principal"),
        *(pl.lit(0, pl.Int64).alias(f"paid_{c}") for c in COMPONENTS),
        pl.lit(False).alias("late_fee_charged"),
    ).sort("loan_id", "instalment")
    state = loans.with_columns(
        pl.lit("active").alias("status"),
        (pl.col("disbursed_on") - pl.duration(days=1)).alias("last_eod"),  # live from its first day
        pl.lit(0, pl.Int32).alias("dpd"),
        pl.lit("M0").alias("bucket"),
        pl.lit(False).alias("npa"),
        pl.lit(False).alias("npa_contagion"),
        pl.lit(0, pl.Int64).alias("accrued_interest_fen"),
    )
    return Book(state, lines)


def _unpaid(c: str) -> pl.Expr:
    return pl.col(f"due_{c}") - pl.col(f"paid_{c}")


_SCHEDULED_UNPAID = _unpaid("fee") + _unpaid("interest") + _unpaid("principal")


def _dpd(lines: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    return (
        lines.filter((pl.col("due_on") < day) & (_SCHEDULED_UNPAID > 0))
        .group_by("loan_id")
        .agg((pl.lit(day) - pl.col("due_on").min()).dt.total_days().cast(pl.Int32).alias("dpd"))
    )


def _rank_table(allocation: Allocation) -> pl.DataFrame:
    """Priority of (npa, when, component): the position of the pair in the waterfall."""
    rows = []
    for npa, order in ((False, allocation.order), (True, allocation.npa_order)):
        for rank, (when, component) in enumerate(order):
            rows.append(
                {"npa": npa, "when": _WHEN[when], "component": component, "pair_rank": rank}
            )
    return pl.DataFrame(
        rows,
        schema={"npa": pl.Boolean, "when": pl.Int8, "component": pl.String, "pair_rank": pl.Int32},
    )


def _allocate(
    lines: pl.DataFrame, pay: pl.DataFrame, day: dt.date, allocation: Allocation
) -> pl.DataFrame:
    """Add each loan's payment to ``paid_*`` following the waterfall; returns updated lines."""
    if pay.is_empty():
        return lines
    paying = lines.join(
        pay.select("loan_id", "amount_fen", "npa_now", "full"), on="loan_id", how="inner"
    )
    items = (
        paying.with_columns(
            pl.when(pl.col("due_on") < day)
            .then(0)
            .when(pl.col("due_on") == day)
            .then(1)
            .otherwise(2)
            .cast(pl.Int8)
            .alias("when")
        )
        .filter((pl.col("when") < _WHEN["in_advance"]) | pl.col("full"))  # a payoff only
        .unpivot(
            index=["loan_id", "instalment", "when", "amount_fen", "npa_now"],
            on=[f"unpaid_{c}" for c in COMPONENTS],
            variable_name="component",
            value_name="unpaid",
        )
        .with_columns(pl.col("component").str.strip_prefix("unpaid_"))
        .join(
            _rank_table(allocation),
            left_on=["npa_now", "when", "component"],
            right_on=["npa", "when", "component"],
        )
        .sort("loan_id", "pair_rank", "instalment")
        .with_columns(pl.col("unpaid").cum_sum().over("loan_id").alias("cum"))
        .with_columns(
            (
                pl.min_horizontal(
                    pl.col("unpaid"), pl.col("amount_fen") - (pl.col("cum") - pl.col("unpaid"))
                )
            )
            .clip(lower_bound=0)
            .alias("take")
        )
        .select("loan_id", "instalment", "component", "take")
        .pivot(on="component", index=["loan_id", "instalment"], values="take")
    )
    taken = items.select(
        "loan_id",
        "instalment",
        *(pl.col(c).fill_null(0).alias(f"take_{c}") for c in COMPONENTS if c in items.columns),
    )
    out = lines.join(taken, on=["loan_id", "instalment"], how="left")
    return out.with_columns(
        *(
            (pl.col(f"paid_{c}") + pl.col(f"take_{c}").fill_null(0)).alias(f"paid_{c}")
            for c in COMPONENTS
            if f"take_{c}" in out.columns
        )
    ).drop([c for c in out.columns if c.startswith("take_")])


def _live(loans: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    return loans.filter(
        (pl.col("last_eod") < day) & pl.col("status").is_in(["active", "overdue", "rescheduled"])
    )


def _with_periods(lines: pl.DataFrame, loans: pl.DataFrame) -> pl.DataFrame:
    """``lines`` of ``loans`` with ``disbursed_on`` and ``_prev``, the start of each period."""
    prev = pl.col("due_on").shift(1).over("loan_id")
    return (
        lines.sort("loan_id", "instalment")
        .join(loans.select("loan_id", "disbursed_on"), on="loan_id")
        .with_columns(
            pl.when(pl.col("instalment") == pl.col("instalment").min().over("loan_id"))
            .then(pl.col("disbursed_on"))
            .otherwise(prev)
            .alias("_prev")
        )
    )


def _earned(day: dt.date) -> tuple[pl.Expr, pl.Expr]:
    """(the line holds ``day`` in its period, its interest earned to ``day`` pro rata by days)."""
    span = (pl.col("due_on") - pl.col("_prev")).dt.total_days().clip(lower_bound=1)
    elapsed = (pl.lit(day) - pl.col("_prev")).dt.total_days()
    current = (pl.col("_prev") <= day) & (pl.lit(day) < pl.col("due_on"))
    return current, pl.when(current).then(pl.col("due_interest") * elapsed // span).otherwise(0)


def _quote(lines: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """Per loan: ``due_now`` (fallen due and unpaid) and ``payoff`` (the ledger's payoff)."""
    _, earned = _earned(day)
    unpaid_all = _unpaid("penalty") + _unpaid("fee") + _unpaid("interest") + _unpaid("principal")
    fallen = pl.col("due_on") <= day
    return lines.group_by("loan_id").agg(
        pl.when(fallen).then(unpaid_all).otherwise(0).sum().alias("due_now"),
        pl.when(fallen)
        .then(unpaid_all)
        .otherwise(_unpaid("principal") + (earned - pl.col("paid_interest")).clip(lower_bound=0))
        .sum()
        .alias("payoff"),
    )


def payments_in_advance(book: Book, payments: pl.DataFrame, day: dt.date) -> pl.Series:
    """The loans whose payments on ``day`` (summed) are more than is due now but not their payoff.

    Those are payments in advance, which re-amortise a loan or are held as a credit: the
    per-loan fold services them (``run_eod`` refuses them).

    >>> import datetime as dt
    >>> from decimal import Decimal
    >>> from fengkong.money import Money
    >>> from fengkong.servicing.batch import schedules, terms_frame
    >>> from fengkong.servicing.products import load_products
    >>> from fengkong.servicing.schedule import LoanTerms
    >>> t = LoanTerms(load_products()["cash_loan"], Money.of("12000"), Decimal("0.12"), 12, dt.date(2026, 1, 10))
    >>> loans = pl.DataFrame({"loan_id": [7], "borrower_id": [1], "disbursed_on": [t.disbursed_on],
    ...     "rate_ppm": [120_000], "penalty_multiplier_ppm": [1_500_000], "late_fee_fen": [0], "grace_days": [3]})
    >>> book = open_book(loans, schedules(terms_frame([t])).with_columns(loan_id=pl.lit(7, pl.Int64)))
    >>> payments_in_advance(book, pl.DataFrame({"loan_id": [7], "amount_fen": [100_000]}), dt.date(2026, 1, 12)).to_list()
    [7]
    """
    if payments.is_empty():
        return pl.Series("loan_id", [], dtype=pl.Int64)
    pay = payments.group_by("loan_id").agg(pl.col("amount_fen").sum())
    live = _live(book.loans, day).join(pay.select("loan_id"), on="loan_id", how="semi")
    lines = _with_periods(book.lines.join(live.select("loan_id"), on="loan_id", how="semi"), live)
    return (
        pay.join(_quote(lines, day), on="loan_id")
        .filter(
            (pl.col("amount_fen") > pl.col("due_now")) & (pl.col("amount_fen") != pl.col("payoff"))
        )
        .sort("loan_id")["loan_id"]
    )


def run_eod(
    book: Book,
    payments: pl.DataFrame,
    business_date: dt.date,
    *,
    allocation: Allocation | None = None,
    buckets: Sequence[tuple[str, int | None]] = BUCKETS,
) -> Book:
    """The book at the end of ``business_date`` (loans already past it are unchanged).

    ``allocation`` is the payment waterfall and its NPA switch (default :class:`Allocation`);
    ``buckets`` the delinquency ranges as (name, upper DPD) pairs, the last open-ended. A
    loan's payments of the day must total at most what is due now, or exactly its payoff
    (:func:`payments_in_advance` names the others, which the per-loan fold services).
    """
    allocation = allocation or Allocation()
    npa_dpd = allocation.npa_dpd
    day = business_date
    loans = book.loans
    due_today = _live(loans, day)
    frozen = loans.join(due_today.select("loan_id"), on="loan_id", how="anti")
    # a settled or written-off loan accrues nothing, but the day is closed for it too: its
    # ``last_eod`` moves on, so no posting (a reversal, a recovery) is back-valued into it
    closed = pl.col("status").is_in(["settled", "written_off"]) & (pl.col("last_eod") < day)
    frozen = frozen.with_columns(
        pl.when(closed).then(pl.lit(day)).otherwise(pl.col("last_eod")).alias("last_eod")
    )
    lines = book.lines.join(due_today.select("loan_id"), on="loan_id", how="semi")
    rest = book.lines.join(due_today.select("loan_id"), on="loan_id", how="anti")

    # Payments: above the payoff is refused upstream; equal to it cancels unearned interest first.
    pay = (
        payments.group_by("loan_id")
        .agg(pl.col("amount_fen").sum())
        .join(due_today.select("loan_id", "disbursed_on"), on="loan_id")
    )
    lines = _with_periods(lines, due_today)
    current, earned = _earned(day)
    paying = lines.join(pay.select("loan_id"), on="loan_id", how="semi")
    dpd_before = _dpd(paying, day)
    pay = (
        pay.join(_quote(paying, day), on="loan_id", how="left")
        .join(dpd_before, on="loan_id", how="left")
        .with_columns(
            (pl.col("dpd").fill_null(0) >= npa_dpd).alias("npa_now"),
            (pl.col("amount_fen") == pl.col("payoff")).alias("full"),
        )
    )
    ahead = pay.filter((pl.col("amount_fen") > pl.col("due_now")) & ~pl.col("full"))
    if not ahead.is_empty():
        raise InvalidArgumentError(
            "payments",
            expected="per loan at most what is due now, or its payoff (payments in advance "
            "go to the per-loan fold: see payments_in_advance)",
            got=f"loan {ahead['loan_id'].sort()[0]}: {ahead.sort('loan_id')['amount_fen'][0]} fen",
        )
    full = pay.filter("full").select("loan_id")
    if not full.is_empty():
        is_full = pl.col("loan_id").is_in(full["loan_id"].implode())
        future = pl.col("due_on") > day
        lines = lines.with_columns(
            pl.when(is_full & future)
            .then(
                pl.max_horizontal(
                    pl.when(current).then(earned).otherwise(0), pl.col("paid_interest")
                )
            )
            .otherwise(pl.col("due_interest"))
            .alias("due_interest"),
            pl.when(is_full & future)
            .then(pl.col("paid_fee"))
            .otherwise(pl.col("due_fee"))
            .alias("due_fee"),
        )
    lines = lines.with_columns(*(_unpaid(c).alias(f"unpaid_{c}") for c in COMPONENTS))
    lines = _allocate(lines, pay, day, allocation).drop(
        [f"unpaid_{c}" for c in COMPONENTS] + ["_prev", "disbursed_on"]
    )

    # End of day: penalty interest on overdue principal, late fees after the grace days.
    lines = lines.join(
        due_today.select(
            "loan_id", "rate_ppm", "penalty_multiplier_ppm", "late_fee_fen", "grace_days"
        ),
        on="loan_id",
    )
    overdue_principal = np.where(
        lines["due_on"].to_numpy() < np.datetime64(day),
        (lines["due_principal"] - lines["paid_principal"]).to_numpy(),
        0,
    )
    daily = np.zeros(lines.height, dtype=np.int64)
    hit = np.flatnonzero(overdue_principal > 0)
    if len(hit):
        daily[hit] = mul_div_round_half_even(
            overdue_principal[hit],
            lines["rate_ppm"].to_numpy()[hit],
            lines["penalty_multiplier_ppm"].to_numpy()[hit],
            365 * 10**12,
        )
    fee_day = pl.col("due_on") + pl.duration(days=pl.col("grace_days") + 1)
    charge = (
        (pl.col("late_fee_fen") > 0)
        & ~pl.col("late_fee_charged")
        & (fee_day == pl.lit(day))
        & (_SCHEDULED_UNPAID > 0)
    )
    lines = lines.with_columns(
        (pl.col("due_penalty") + pl.Series(daily)).alias("due_penalty"),
        (pl.col("due_fee") + pl.when(charge).then(pl.col("late_fee_fen")).otherwise(0)).alias(
            "due_fee"
        ),
        (pl.col("late_fee_charged") | charge).alias("late_fee_charged"),
    ).drop("rate_ppm", "penalty_multiplier_ppm", "late_fee_fen", "grace_days")

    # Interest accrued to date: periods fallen due plus the current one pro rata by days.
    prev_due = pl.col("due_on").shift(1).over("loan_id")
    previous = (
        pl.when(pl.col("instalment") == pl.col("instalment").min().over("loan_id"))
        .then(pl.col("disbursed_on"))
        .otherwise(prev_due)
    )
    accrued = (
        lines.join(due_today.select("loan_id", "disbursed_on"), on="loan_id")
        .sort("loan_id", "instalment")
        .with_columns(previous.alias("_prev"))
        .with_columns(
            pl.when(pl.col("due_on") <= day)
            .then(pl.col("due_interest"))
            .when(pl.col("_prev") <= day)
            .then(
                pl.col("due_interest")
                * (pl.lit(day) - pl.col("_prev")).dt.total_days()
                // (pl.col("due_on") - pl.col("_prev")).dt.total_days().clip(lower_bound=1)
            )
            .otherwise(0)
            .alias("_accrued")
        )
        .group_by("loan_id")
        .agg(pl.col("_accrued").sum().alias("accrued_interest_fen"))
    )

    # DPD, bucket, status, NPA and contagion across a borrower's loans.
    settled = lines.group_by("loan_id").agg(
        (pl.sum_horizontal(*(_unpaid(c) for c in COMPONENTS)).sum() == 0).alias("settled")
    )
    uppers = [u for _, u in buckets[:-1]]
    names = [n for n, _ in buckets]
    updated = (
        due_today.drop("dpd", "accrued_interest_fen")
        .join(accrued, on="loan_id", how="left")
        .join(_dpd(lines, day), on="loan_id", how="left")
        .join(settled, on="loan_id", how="left")
        .with_columns(pl.col("dpd").fill_null(0).cast(pl.Int32))
        .with_columns(
            pl.when(pl.col("settled"))
            .then(pl.lit("settled"))
            .when(pl.col("status") == "rescheduled")
            .then(pl.lit("rescheduled"))
            .when(pl.col("dpd") > 0)
            .then(pl.lit("overdue"))
            .otherwise(pl.lit("active"))
            .alias("status"),
            pl.when(pl.col("settled")).then(0).otherwise(pl.col("dpd")).cast(pl.Int32).alias("dpd"),
            pl.lit(day).alias("last_eod"),
        )
        .with_columns((pl.col("dpd") >= npa_dpd).alias("npa"))
        .drop("settled")
    )
    codes = np.searchsorted(np.array(uppers), updated["dpd"].to_numpy(), side="left")
    updated = updated.with_columns(
        pl.Series("bucket", np.array(names, dtype=object)[codes], dtype=pl.String)
    )
    all_loans = pl.concat([frozen, updated.select(frozen.columns)]).sort("loan_id")
    contagion = all_loans.group_by("borrower_id").agg(pl.col("npa").any().alias("npa_contagion"))
    all_loans = (
        all_loans.drop("npa_contagion")
        .join(contagion, on="borrower_id", how="left")
        .select(loans.columns)
    )
    all_lines = pl.concat([rest, lines.select(rest.columns)]).sort("loan_id", "instalment")
    return Book(all_loans, all_lines)
