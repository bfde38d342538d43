"""True cost of credit: the annual percentage rate of a loan's actual cash flows.

The actuarial method of US Regulation Z Appendix J, which PBoC announcement 2021 No. 3 also
prescribes in substance (an IRR-based annual rate): find the unit-period rate ``i`` at which

    sum(advances_k / ((1 + f_k i)(1 + i)^t_k)) = sum(payments_k / ((1 + f_k i)(1 + i)^t_k))

where each flow lies ``t_k`` whole unit periods plus the fraction ``f_k`` after the start,
counted back from the flow's date. For a monthly unit period a fraction of a month is its
days over 30, and multi-month unit periods count whole months plus days/30; week-based units
count days; a semimonth is half a month (whole months count two, 15 odd days one more, the
rest over 15). The *simple* annual rate is ``i`` times the unit periods in a year (Reg Z's APR,
the PBoC's 年化利率); the *effective* rate compounds it, ``(1 + i)^periods - 1``.

A single advance repaid by a single payment uses the term itself as the unit period
(Reg Z (b)(5)(iii)): ``(payment / advance - 1) x 365 / days``.

Money is exact; the rate is a disclosure figure, solved in float64 to 1e-12 and returned as
``Decimal``. :func:`apr_batch` solves a whole book at once (Newton's method, vectorised).

Examples
--------
>>> import datetime as dt
>>> from fengkong.money import Money
>>> flows = [CashFlow(dt.date(1978, 1, 10), Money.of("5000", "USD"))]
>>> flows += [CashFlow(add_months(dt.date(1978, 2, 10), k), -Money.of("230", "USD")) for k in range(24)]
>>> result = apr(flows)
>>> round(result.annual * 100, 2), round(result.effective * 100, 2)
(Decimal('9.69'), Decimal('10.13'))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import numpy as np
import numpy.typing as npt

from fengkong.errors import InvalidArgumentError
from fengkong.money import Money
from fengkong.servicing.schedule import Schedule, add_months

__all__ = [
    "UNITS",
    "AprResult",
    "CashFlow",
    "Unit",
    "apr",
    "apr_batch",
    "schedule_cash_flows",
    "unit_times",
]

Unit = Literal[
    "day",
    "week",
    "biweek",
    "fourweek",
    "semimonth",
    "month",
    "bimonth",
    "quarter",
    "halfyear",
    "year",
]
#: unit -> (days per unit for week-based units or 0, months per unit or 0, units per year)
UNITS: dict[str, tuple[int, int, int]] = {
    "day": (1, 0, 365),
    "week": (7, 0, 52),
    "biweek": (14, 0, 26),
    "fourweek": (28, 0, 13),
    "semimonth": (15, 0, 24),
    "month": (0, 1, 12),
    "bimonth": (0, 2, 6),
    "quarter": (0, 3, 4),
    "halfyear": (0, 6, 2),
    "year": (0, 12, 1),
}
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class CashFlow:
    """A dated amount: positive to the borrower (an advance), negative from the borrower."""

    on: dt.date
    amount: Money


@dataclass(frozen=True, slots=True)
class AprResult:
    """The solved rates: per unit period, simple annual (the APR) and compound effective."""

    periodic: Decimal
    periods_per_year: int
    annual: Decimal
    effective: Decimal


def _months_back(start: dt.date, on: dt.date) -> tuple[int, int]:
    """Whole months counted back from ``on`` towards ``start``, and the days left over."""
    months = (on.year - start.year) * 12 + on.month - start.month
    while months > 0 and add_months(on, -months, anchor_day=on.day) < start:
        months -= 1
    return months, (add_months(on, -months, anchor_day=on.day) - start).days


def unit_times(start: dt.date, on: dt.date, unit: str) -> tuple[int, float]:
    """``(t, f)``: whole unit periods and the fraction of one, from ``start`` to ``on``.

    >>> unit_times(dt.date(1978, 5, 23), dt.date(1978, 10, 1), "quarter")
    (1, 0.43333333333333335)
    """
    if on < start:
        raise InvalidArgumentError(
            "cash_flows", expected=f"dates on or after the first advance ({start})", got=on
        )
    try:
        days_per, months_per, _ = UNITS[unit]
    except KeyError:
        raise InvalidArgumentError("unit", expected=f"one of {list(UNITS)}", got=unit) from None
    if unit == "semimonth":  # whole months are two semimonths; 15 or more odd days one more
        months, days = _months_back(start, on)
        extra = int(days >= 15)
        return 2 * months + extra, (days - 15 * extra) / 15
    if months_per == 0:
        days = (on - start).days
        return days // days_per, (days % days_per) / days_per
    months, days = _months_back(start, on)
    return months // months_per, ((months % months_per) + days / 30.0) / months_per


def _solve(t: F64, f: F64, amount: F64) -> F64:
    """Unit-period rates solving the general equation row by row (rows padded with zero amounts)."""
    rate = np.full(t.shape[0], 0.01)
    for _ in range(100):
        g = (1.0 + f * rate[:, None]) * (1.0 + rate[:, None]) ** t
        value = (amount / g).sum(axis=1)
        dg = f * (1.0 + rate[:, None]) ** t + (1.0 + f * rate[:, None]) * t * (
            1.0 + rate[:, None]
        ) ** np.maximum(t - 1, 0)
        slope = (-amount * dg / g**2).sum(axis=1)
        step = np.where(slope != 0, value / np.where(slope == 0, 1.0, slope), 0.0)
        new = np.maximum(rate - step, (rate - 1.0) / 2.0)  # stay above -1
        done = np.abs(new - rate) < 1e-13
        rate = new
        if done.all():
            break
    return rate


def apr(cash_flows: Sequence[CashFlow], *, unit: Unit = "month") -> AprResult:
    """The APR of ``cash_flows`` (advances positive, payments negative) by the actuarial method."""
    flows = sorted(cash_flows, key=lambda c: c.on)
    advances = [c for c in flows if c.amount.minor > 0]
    payments = [c for c in flows if c.amount.minor < 0]
    if not advances or not payments:
        raise InvalidArgumentError(
            "cash_flows",
            expected="at least one advance (positive) and one payment (negative)",
            got=len(flows),
        )
    currencies = {c.amount.currency for c in flows}
    if len(currencies) > 1:
        raise InvalidArgumentError(
            "cash_flows", expected="amounts in one currency", got=sorted(currencies)
        )
    start = flows[0].on
    if len(advances) == 1 and len(payments) == 1 and advances[0].on == start:
        days = (payments[0].on - start).days
        if days <= 0:
            raise InvalidArgumentError(
                "cash_flows", expected="a payment after the advance", got=payments[0].on
            )
        ratio = Decimal(-payments[0].amount.minor) / Decimal(advances[0].amount.minor)
        periodic = ratio - 1
        terms_a_year = Decimal(365) / days
        annual = periodic * terms_a_year
        effective = Decimal(float(ratio) ** float(terms_a_year) - 1.0)
        whole = int(terms_a_year) if terms_a_year == int(terms_a_year) else 0
        return AprResult(_q(periodic), whole, _q(annual), _q(effective))
    times = [unit_times(start, c.on, unit) for c in flows]
    t = np.array([[x[0] for x in times]], dtype=np.float64)
    f = np.array([[x[1] for x in times]], dtype=np.float64)
    amount = np.array([[c.amount.minor for c in flows]], dtype=np.float64)
    per_year = UNITS[unit][2]
    i = float(_solve(t, f, amount)[0])
    return AprResult(
        _q(Decimal(i)), per_year, _q(Decimal(i) * per_year), _q(Decimal((1 + i) ** per_year - 1))
    )


def _q(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.0000000001"))


def schedule_cash_flows(schedule: Schedule) -> list[CashFlow]:
    """The borrower's cash flows under a schedule: the net amount received, then each instalment.

    An upfront fee deducted from the principal (砍头息) lowers what is received; one paid
    separately at disbursement is a payment on that day. Both raise the APR.
    """
    terms = schedule.terms
    flows = [CashFlow(terms.disbursed_on, terms.net_disbursed)]
    fee = terms.upfront_fee
    if fee.minor and not terms.product.upfront_fee_deducted:
        flows.append(CashFlow(terms.disbursed_on, -fee))
    flows += [CashFlow(i.due_on, -i.total) for i in schedule.instalments]
    return flows


def apr_batch(
    start: npt.NDArray[np.datetime64],
    dates: npt.NDArray[np.datetime64],
    amounts: npt.NDArray[np.int64],
) -> tuple[F64, F64]:
    """Simple and effective annual rates (monthly unit period) for many loans at once.

    ``dates`` and ``amounts`` are ``(loans, flows)`` arrays (amounts in fen, advances positive,
    payments negative, padding as zero amounts on any date); ``start`` is each loan's first
    advance date. Returns float arrays, equal to :func:`apr` to 1e-9.
    """
    start_d = start.astype("datetime64[D]")[:, None]
    on = np.maximum(dates.astype("datetime64[D]"), start_d)
    months_on = on.astype("datetime64[M]")
    day_on = (on - months_on.astype("datetime64[D]")).astype(np.int64) + 1
    months = (months_on - start_d.astype("datetime64[M]")).astype(np.int64)

    def back(m: npt.NDArray[np.int64]) -> npt.NDArray[np.datetime64]:
        target = months_on - m
        length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
            np.int64
        )
        return np.asarray(target.astype("datetime64[D]") + (np.minimum(day_on, length) - 1))

    months = np.where(back(months) < start_d, months - 1, months)
    months = np.maximum(months, 0)
    odd = (back(months) - start_d).astype(np.int64)
    t = months.astype(np.float64)
    f = odd / 30.0
    rate = _solve(t, f, amounts.astype(np.float64))
    return rate * 12, (1 + rate) ** 12 - 1
