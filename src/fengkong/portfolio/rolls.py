"""Roll rates, flow rates, cures, charge-offs and recoveries from the monthly panel.

DOMAIN.md: roll rate Mk→Mj at month t = balance in Mk at t−1 that is in Mj at t ÷ balance in
Mk at t−1. Destinations include every bucket (cure to M0 included), ``paid_off`` and
``written_off``. Only loans open at t−1 roll; weights are balances at t−1
(``basis="balance"``) or loans (``basis="count"``).

Examples
--------
>>> import datetime as dt
>>> import polars as pl
>>> m = [dt.date(2025, 1, 1), dt.date(2025, 2, 1)]
>>> panel = pl.DataFrame({
...     "loan_id": [1, 1, 2, 2, 3, 3],
...     "month": m * 3,
...     "balance_fen": [100, 90, 300, 300, 50, 0],
...     "state": ["M0", "M1", "M0", "M0", "M1", "paid_off"],
... })
>>> roll_rates(panel).select("from_state", "to_state", "rate").rows()
[('M0', 'M0', 0.75), ('M0', 'M1', 0.25), ('M1', 'paid_off', 1.0)]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

import numpy as np
import polars as pl

from fengkong.errors import InvalidArgumentError
from fengkong.portfolio._kernels import roll_amounts, sorted_runs
from fengkong.servicing.ledger import BUCKETS

__all__ = ["flow_rates", "loss_rates", "roll_matrix", "roll_rates", "transitions"]

Basis = Literal["balance", "count"]
_CLOSED = ("paid_off", "written_off")


def transitions(
    panel: pl.DataFrame, *, start: dt.date | None = None, end: dt.date | None = None
) -> pl.DataFrame:
    """Each open loan's move from month t−1 to t: loan, month (t), from/to state, balances."""
    frame = panel.select("loan_id", "month", "state", "balance_fen")
    if not (frame["loan_id"].is_sorted() and _months_ascending(frame)):
        frame = frame.sort("loan_id", "month")
    moves = frame.select(
        "loan_id",
        "month",
        pl.col("state").shift().alias("from_state"),
        pl.col("balance_fen").shift().alias("from_balance_fen"),
        pl.col("state").alias("to_state"),
        pl.col("balance_fen").alias("to_balance_fen"),
        (
            (pl.col("loan_id").shift() == pl.col("loan_id"))
            & (pl.col("month").shift().dt.offset_by("1mo") == pl.col("month"))
        ).alias("__next"),
    ).filter(pl.col("__next") & ~pl.col("from_state").is_in(_CLOSED))
    if start is not None:
        moves = moves.filter(pl.col("month") >= start)
    if end is not None:
        moves = moves.filter(pl.col("month") <= end)
    return moves.drop("__next")


def _months_ascending(frame: pl.DataFrame) -> bool:
    same = frame.select(
        ((pl.col("loan_id").diff() != 0) | (pl.col("month").diff() > pl.duration(days=0)))
        .fill_null(True)
        .all()
    )
    return bool(same.item())


def _weight(basis: Basis) -> pl.Expr:
    if basis not in ("balance", "count"):
        raise InvalidArgumentError("basis", expected="balance or count", got=basis)
    # the amount of a group: summed balances, or the number of moves
    return pl.col("from_balance_fen").sum() if basis == "balance" else pl.len().cast(pl.Int64)


def roll_rates(
    panel: pl.DataFrame,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    basis: Basis = "balance",
    by: Sequence[str] = (),
) -> pl.DataFrame:
    """Long table over the months ``start``..``end`` (t, inclusive): from, to, amount, rate."""
    if basis not in ("balance", "count"):
        raise InvalidArgumentError("basis", expected="balance or count", got=basis)
    if not by:
        fast = _roll_rates_sorted(panel, start, end, basis)
        if fast is not None:
            return fast
    moves = transitions(
        panel.select("loan_id", "month", "state", "balance_fen", *by), start=start, end=end
    )
    if by:
        moves = moves.join(panel.select("loan_id", *by).unique("loan_id"), on="loan_id")
    keys = [*by, "from_state"]
    return (
        moves.group_by(*keys, "to_state")
        .agg(_weight(basis).alias("amount"))
        .with_columns(pl.col("from_state", "to_state").cast(pl.String))
        .with_columns((pl.col("amount") / pl.col("amount").sum().over(keys)).alias("rate"))
        .sort(*keys, "to_state")
    )


def _month_index(month: pl.Series) -> np.ndarray:
    """Year × 12 + month of each date (NumPy's calendar arithmetic on the physical days)."""
    days = month.to_physical().to_numpy().astype("datetime64[D]")
    return days.astype("datetime64[M]").astype(np.int64)


def _roll_rates_sorted(
    panel: pl.DataFrame, start: dt.date | None, end: dt.date | None, basis: Basis
) -> pl.DataFrame | None:
    """One pass over a loan- and month-sorted panel with Enum states; None when not that."""
    state = panel["state"]
    if not isinstance(state.dtype, pl.Enum) or panel["month"].null_count():
        return None
    loan = panel["loan_id"].to_numpy()
    month = _month_index(panel["month"])
    if not sorted_runs(loan, month)[0]:
        return None
    names = state.dtype.categories.to_list()
    closed = np.array([n in _CLOSED for n in names])
    weight = (
        panel["balance_fen"].fill_null(0).to_numpy().astype(np.int64)
        if basis == "balance"
        else np.ones(panel.height, dtype=np.int64)
    )
    lo = -(2**62) if start is None else int(_month_index(pl.Series([start]))[0])
    hi = 2**62 if end is None else int(_month_index(pl.Series([end]))[0])
    amounts = roll_amounts(
        loan,
        month,
        state.to_physical().to_numpy().astype(np.int64),
        weight,
        closed,
        lo,
        hi,
        len(names),
    )
    rows = [
        (names[f], names[t], int(amounts[f, t])) for f, t in zip(*np.nonzero(amounts), strict=True)
    ]
    frame = pl.DataFrame(
        rows,
        schema={"from_state": pl.String, "to_state": pl.String, "amount": pl.Int64},
        orient="row",
    )
    return frame.with_columns(
        (pl.col("amount") / pl.col("amount").sum().over("from_state")).alias("rate")
    ).sort("from_state", "to_state")


def roll_matrix(
    rates: pl.DataFrame, *, buckets: Sequence[tuple[str, int | None]] = BUCKETS
) -> pl.DataFrame:
    """The roll-rate table as a from × to matrix in bucket order, closed states last."""
    order = [name for name, _ in buckets] + list(_CLOSED)
    present = [s for s in order if s in set(rates["to_state"].to_list())]
    wide = rates.pivot(on="to_state", index="from_state", values="rate").fill_null(0.0)
    rank = {s: i for i, s in enumerate(order)}
    wide = wide.sort(pl.col("from_state").replace_strict(rank, default=len(order)))
    return wide.select("from_state", *present)


def flow_rates(
    panel: pl.DataFrame, *, buckets: Sequence[tuple[str, int | None]] = BUCKETS
) -> pl.DataFrame:
    """Per month: balance in each bucket, flow rate from the bucket before it a month earlier,
    and the cure rate (delinquent balance at t−1 back in the first bucket at t)."""
    names = [n for n, _ in buckets]
    open_rows = panel.filter(pl.col("state").is_in(names))
    by_month = (
        open_rows.group_by("month", "state")
        .agg(pl.col("balance_fen").sum())
        .with_columns(pl.col("state").cast(pl.String))
    )
    previous = by_month.select(
        pl.col("month").dt.offset_by("1mo"),
        pl.col("state").replace_strict(
            {n: names[i + 1] for i, n in enumerate(names[:-1])}, default=None
        ),
        pl.col("balance_fen").alias("previous_fen"),
    ).drop_nulls("state")
    flows = (
        by_month.join(previous, on=["month", "state"], how="left")
        .with_columns((pl.col("balance_fen") / pl.col("previous_fen")).alias("flow_rate"))
        .sort("month", pl.col("state").replace_strict({n: i for i, n in enumerate(names)}))
    )
    moves = transitions(panel).filter(pl.col("from_state") != names[0])
    cures = moves.group_by("month").agg(
        (
            pl.col("from_balance_fen").filter(pl.col("to_state") == names[0]).sum()
            / pl.col("from_balance_fen").sum()
        ).alias("cure_rate")
    )
    return flows.join(cures, on="month", how="left")


def loss_rates(panel: pl.DataFrame) -> pl.DataFrame:
    """Per month: open balance, written off, recovered, the monthly charge-off rate (written off
    ÷ open balance a month earlier) and the cumulative recovery rate."""
    monthly = (
        panel.group_by("month")
        .agg(
            pl.col("balance_fen").filter(~pl.col("state").is_in(_CLOSED)).sum().alias("open_fen"),
            pl.col("written_off_fen").sum(),
            pl.col("recovered_fen").sum(),
        )
        .sort("month")
    )
    return monthly.with_columns(
        (pl.col("written_off_fen") / pl.col("open_fen").shift(1)).alias("charge_off_rate"),
        (pl.col("recovered_fen").cum_sum() / pl.col("written_off_fen").cum_sum()).alias(
            "recovery_rate"
        ),
    )
