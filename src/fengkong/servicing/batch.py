"""Vectorised schedules for a whole book: the same conventions as :func:`build_schedule`, in integer fen.

One loop over instalment numbers, vectorised over loans (NumPy on integer fen, no float in
any amount); a property test requires identical rows to the per-loan ``Decimal`` engine.
Rates come in as integer parts per million (``annual_rate x 1e6``), which is exact because
contracts carry at most six decimal places. Products past the int64 range (principal times
rate times days above 9e18) fall back to exact Python integers.

Input frame (one row per loan): ``loan_id``, ``method``, ``day_count``, ``principal_fen``,
``rate_ppm``, ``term``, ``disbursed_on``, optional ``first_due_on``, and the product's
``fee_ppm`` (instalment fee rate x 1e6), ``grace_periods`` and ``multiple_fen``.

>>> import datetime as dt
>>> import polars as pl
>>> book = pl.DataFrame({"loan_id": [1], "method": ["equal_instalment"], "day_count": ["30/360"],
...     "principal_fen": [1_000_000], "rate_ppm": [120_000], "term": [12],
...     "disbursed_on": [dt.date(2026, 1, 1)]})
>>> rows = schedules(book)
>>> rows["due_fen"].to_list()[:2], int(rows["interest_fen"].sum())
([88849, 88849], 66186)
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import polars as pl

from fengkong.errors import InvalidArgumentError
from fengkong.money import mul_div_round_half_even
from fengkong.servicing.daycount import DAY_COUNTS
from fengkong.servicing.products import METHODS
from fengkong.servicing.schedule import FACTOR_PLACES, LoanTerms, annuity_factor

__all__ = ["SCHEDULE_SCHEMA", "schedules", "terms_frame"]

I64 = npt.NDArray[np.int64]
_FACTOR_SCALE = 10**FACTOR_PLACES

SCHEDULE_SCHEMA = pl.Schema(
    {
        "loan_id": pl.Int64(),
        "instalment": pl.Int32(),
        "due_on": pl.Date(),
        "principal_fen": pl.Int64(),
        "interest_fen": pl.Int64(),
        "fee_fen": pl.Int64(),
        "due_fen": pl.Int64(),
        "balance_fen": pl.Int64(),
    }
)


def _ymd(dates: npt.NDArray[np.datetime64]) -> tuple[I64, I64, I64]:
    months = dates.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (dates - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def _add_months(
    dates: npt.NDArray[np.datetime64], months: I64 | int, anchor: I64
) -> npt.NDArray[np.datetime64]:
    start = dates.astype("datetime64[M]") + months
    length = ((start + 1).astype("datetime64[D]") - start.astype("datetime64[D]")).astype(np.int64)
    return np.asarray(start.astype("datetime64[D]") + (np.minimum(anchor, length) - 1))


def _days(
    code: I64, start: npt.NDArray[np.datetime64], end: npt.NDArray[np.datetime64]
) -> tuple[I64, I64]:
    actual = (end - start).astype(np.int64)
    y1, m1, d1 = _ymd(start)
    y2, m2, d2 = _ymd(end)
    d1c = np.minimum(d1, 30)
    d2c = np.where(d1c == 30, np.minimum(d2, 30), d2)
    thirty = 360 * (y2 - y1) + 30 * (m2 - m1) + (d2c - d1c)
    is_30 = code == DAY_COUNTS.index("30/360")
    days = np.where(is_30, thirty, actual)
    basis = np.where(code == DAY_COUNTS.index("ACT/365"), 365, 360)
    return days, basis


def _codes(column: pl.Series, labels: Sequence[str], field: str) -> I64:
    unknown = set(column.unique().to_list()) - set(labels)
    if unknown:
        raise InvalidArgumentError(field, expected=f"one of {list(labels)}", got=sorted(unknown)[0])
    return column.replace_strict(
        list(labels), list(range(len(labels))), return_dtype=pl.Int64
    ).to_numpy()


def _level(principal: I64, rate_ppm: I64, periods: I64, multiple: I64) -> I64:
    pairs = np.stack([rate_ppm, periods], axis=1)
    unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
    factors = np.array(
        [
            int(annuity_factor(Decimal(int(r)) / 1_000_000, int(n)).scaleb(FACTOR_PLACES))
            for r, n in unique
        ],
        dtype=np.int64,
    )[inverse.ravel()]
    ones = np.ones_like(principal)
    emi = mul_div_round_half_even(principal, factors, ones, _FACTOR_SCALE)
    return -(-emi // multiple) * multiple


def schedules(book: pl.DataFrame) -> pl.DataFrame:
    """Every loan's schedule, one row per instalment (``SCHEDULE_SCHEMA``), ordered by loan and number."""
    n = book.height
    get = book.get_column
    optional = {"first_due_on": None, "fee_ppm": 0, "grace_periods": 0, "multiple_fen": 1}
    for name, default in optional.items():
        if name not in book.columns:
            book = book.with_columns(pl.lit(default).alias(name))
    get = book.get_column
    method = _codes(get("method"), METHODS, "method")
    day_code = _codes(get("day_count"), DAY_COUNTS, "day_count")
    principal = get("principal_fen").cast(pl.Int64).to_numpy()
    rate = get("rate_ppm").cast(pl.Int64).to_numpy()
    term = get("term").cast(pl.Int64).to_numpy()
    fee_ppm = get("fee_ppm").cast(pl.Int64).to_numpy()
    grace = get("grace_periods").cast(pl.Int64).to_numpy()
    multiple = get("multiple_fen").cast(pl.Int64).to_numpy()
    disbursed = get("disbursed_on").cast(pl.Date).to_numpy().astype("datetime64[D]")
    first_col = get("first_due_on").cast(pl.Date)
    _, _, disb_day = _ymd(disbursed)
    default_first = _add_months(disbursed, 1, disb_day)
    first = np.where(
        first_col.is_null().to_numpy(),
        default_first,
        first_col.fill_null(pl.date(1970, 1, 1)).to_numpy().astype("datetime64[D]"),
    )
    if n and (
        np.any(principal <= 0) or np.any(term < 1) or np.any(rate < 0) or np.any(first <= disbursed)
    ):
        bad = (
            "principal_fen"
            if np.any(principal <= 0)
            else "term"
            if np.any(term < 1)
            else "rate_ppm"
            if np.any(rate < 0)
            else "first_due_on"
        )
        raise InvalidArgumentError(
            bad,
            expected="positive principal and term, non-negative rate, first due after disbursement",
            got="an invalid row",
        )
    _, _, first_day = _ymd(first)
    anchor = np.where(first_col.is_null().to_numpy(), disb_day, first_day)

    annuity = method == METHODS.index("equal_instalment")
    level = (method == METHODS.index("equal_principal")) | (method == METHODS.index("flat_fee"))
    regular_periods = np.maximum(term - grace, 1)
    emi = np.zeros(n, dtype=np.int64)
    if annuity.any():
        emi[annuity] = _level(
            principal[annuity], rate[annuity], regular_periods[annuity], multiple[annuity]
        )
    base = principal // regular_periods
    fee = mul_div_round_half_even(principal, fee_ppm, np.ones_like(principal), 1_000_000)

    balance = principal.copy()
    previous = disbursed.copy()
    parts: list[tuple[I64, ...]] = []
    out_dates = []
    for k in range(1, int(term.max(initial=0)) + 1):
        idx = np.flatnonzero(term >= k)
        due = _add_months(first[idx], k - 1, anchor[idx])
        days, basis = _days(day_code[idx], previous[idx], due)
        bal = balance[idx]
        interest = mul_div_round_half_even(bal, rate[idx], days, basis * 1_000_000)
        regular = np.where(annuity[idx], emi[idx] - interest, np.where(level[idx], base[idx], 0))
        regular = np.where(k <= grace[idx], 0, regular)
        paid = np.where(term[idx] == k, bal, np.clip(regular, 0, bal))
        balance[idx] = bal - paid
        previous[idx] = due
        parts.append(
            (idx, np.full(len(idx), k, dtype=np.int64), paid, interest, fee[idx], balance[idx])
        )
        out_dates.append(due)
    if not parts:
        return pl.DataFrame(schema=SCHEDULE_SCHEMA)
    loan_idx, k_arr, p_arr, i_arr, f_arr, b_arr = (
        np.concatenate(c) for c in zip(*parts, strict=True)
    )
    dates = np.concatenate(out_dates)
    order = np.lexsort((k_arr, loan_idx))
    ids = get("loan_id").cast(pl.Int64).to_numpy()
    frame = pl.DataFrame(
        {
            "loan_id": ids[loan_idx[order]],
            "instalment": k_arr[order],
            "due_on": dates[order],
            "principal_fen": p_arr[order],
            "interest_fen": i_arr[order],
            "fee_fen": f_arr[order],
            "due_fen": (p_arr + i_arr + f_arr)[order],
            "balance_fen": b_arr[order],
        }
    )
    return frame.cast(SCHEDULE_SCHEMA)


def terms_frame(terms: Sequence[LoanTerms], *, ids: Sequence[int] | None = None) -> pl.DataFrame:
    """The batch engine's input frame for a list of contracts."""
    return pl.DataFrame(
        {
            "loan_id": list(ids) if ids is not None else list(range(len(terms))),
            "method": [t.product.method for t in terms],
            "day_count": [t.product.day_count for t in terms],
            "principal_fen": [t.principal.minor for t in terms],
            "rate_ppm": [int(t.annual_rate * 1_000_000) for t in terms],
            "term": [t.term for t in terms],
            "disbursed_on": [t.disbursed_on for t in terms],
            "first_due_on": [t.first_due_on for t in terms],
            "fee_ppm": [int(t.product.instalment_fee_rate * 1_000_000) for t in terms],
            "grace_periods": [t.product.principal_grace_periods for t in terms],
            "multiple_fen": [t.product.instalment_multiple_fen for t in terms],
        },
        schema_overrides={"first_due_on": pl.Date},
    )
