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

import numpy as np
import polars as pl

from fengkong.errors import InvalidArgumentError
from fengkong.portfolio._kernels import sorted_runs, state_index
from fengkong.servicing.ledger import BUCKETS

__all__ = ["OPEN", "bucket_expr", "monthly_panel", "months_between", "require_columns"]

OPEN = ("current", "delinquent")
_STATUSES = ("current", "delinquent", "prepaid", "settled", "written_off")
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


def require_columns(frame: pl.DataFrame, columns: Sequence[str], name: str) -> None:
    """Raise an error naming ``name`` and the columns it lacks."""
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
    require_columns(loans, ["loan_id", "principal_fen", "disbursed_on", *segments], "loans")
    require_columns(performance, _PERFORMANCE, "performance")
    names = [n for n, _ in buckets]
    bucket_expr(pl.col("dpd"), buckets)  # validates the ranges
    uppers = np.asarray([u for _, u in buckets[:-1]], dtype=np.int64)
    extra = loans.select(
        "loan_id",
        "principal_fen",
        pl.col("disbursed_on").dt.month_start().alias("vintage"),
        *(
            pl.col(c).cast(pl.Categorical) if loans.schema[c] == pl.String else pl.col(c)
            for c in segments
        ),
    )
    frame = _attach(performance.select(_PERFORMANCE), extra)
    if not _sorted_by_loan_and_mob(frame):
        frame = frame.sort("loan_id", "mob")
    index = np.searchsorted(uppers, frame["dpd"].fill_null(0).to_numpy(), side="left")
    # bucket and state are Enums gathered by index: no per-row strings are built
    closed = len(names)
    statuses = list(_STATUSES)  # any other status (or none) is treated as closed: paid_off
    status_code = (
        frame["status"].cast(pl.Enum(statuses), strict=False).to_physical().fill_null(len(statuses))
    )
    is_open = np.array([st in OPEN for st in statuses] + [False])
    closed_state = np.array(
        [closed + 1 if st == "written_off" else closed for st in statuses] + [closed]
    )
    states = state_index(index, status_code.to_numpy().astype(np.int64), is_open, closed_state)
    bucket = pl.Series("bucket", names, dtype=pl.Enum(names)).gather(index)
    state = pl.Series(
        "state",
        [*names, "paid_off", "written_off"],
        dtype=pl.Enum([*names, "paid_off", "written_off"]),
    ).gather(states)
    if frame["snapshot_on"].null_count():
        raise InvalidArgumentError(
            "performance.snapshot_on",
            expected="a date on every row",
            got=f"{frame['snapshot_on'].null_count()} nulls",
        )
    days = frame["snapshot_on"].to_physical().to_numpy().astype(np.int64)
    low = int(days.min()) if days.size else 0
    span = np.arange(low, (int(days.max()) if days.size else 0) + 1).astype("datetime64[D]")
    month_start = span.astype("datetime64[M]").astype("datetime64[D]").astype(np.int32)
    month = pl.Series("month", month_start[days - low]).cast(pl.Date)  # a lookup per row
    return frame.with_columns(bucket, state, month).select(
        "loan_id",
        "vintage",
        "month",
        pl.col("mob").cast(pl.Int32),
        "principal_fen",
        pl.col("principal_balance_fen").alias("balance_fen"),
        "dpd",
        "bucket",
        "state",
        "status",
        "paid_fen",
        "written_off_fen",
        "recovered_fen",
        *segments,
    )


def _attach(perf: pl.DataFrame, loans: pl.DataFrame) -> pl.DataFrame:
    """Loan columns onto each snapshot (an inner join by a sorted-index gather; order kept)."""
    loans = loans if loans["loan_id"].is_sorted() else loans.sort("loan_id")
    ids = loans["loan_id"].to_numpy()
    wanted = perf["loan_id"].to_numpy()
    if len(ids) and bool((np.diff(ids) == 1).all()):  # consecutive ids: the position is the offset
        pos = np.clip(wanted - ids[0], 0, len(ids) - 1)
    else:
        pos = np.minimum(np.searchsorted(ids, wanted), max(len(ids) - 1, 0))
    found = ids[pos] == wanted if len(ids) else np.zeros(len(wanted), np.bool_)
    if not found.all():
        perf, pos = perf.filter(pl.Series(found)), pos[found]
    return perf.hstack(loans.drop("loan_id")[pos])


def _sorted_by_loan_and_mob(frame: pl.DataFrame) -> bool:
    mob = frame["mob"]
    return (
        not mob.null_count()
        and sorted_runs(frame["loan_id"].to_numpy(), mob.to_numpy().astype(np.int64))[0]
    )


def months_between(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """Whole months from ``start`` to ``end`` (both month starts)."""
    return (end.dt.year() - start.dt.year()) * 12 + end.dt.month() - start.dt.month()
