"""Repayment schedules: a date generator, one amortisation strategy per method, exact money.

Dates are kept apart from the maths: :func:`due_dates` makes the calendar, and each method's
strategy computes principal, interest and fee per period from the balance and the period's
year fraction. Every amount is rounded to the fen HALF_EVEN; the last instalment absorbs the
residue, so principal parts always add up to the principal.

Conventions (the same in the vectorised engine, :mod:`fengkong.servicing.batch`):

- interest for a period = balance x annual rate x year fraction (the product's day count;
  under 30/360 a regular month is exactly 1/12), rounded per period;
- the equal instalment is ``principal x F`` rounded to the fen, where ``F`` is the annuity
  factor ``r / (1 - (1 + r)^-n)`` (``r`` = annual rate / 12, ``n`` = periods after any
  principal grace) rounded to 10 decimal places, then rounded up to the product's
  ``instalment_multiple_fen``;
- flat-fee products charge ``principal x instalment_fee_rate`` every period;
- an odd first period (a first due date other than one month after disbursement) accrues for
  its actual length under the day count.

Examples
--------
>>> import datetime as dt
>>> from decimal import Decimal
>>> from fengkong.money import Money
>>> from fengkong.servicing.products import load_products
>>> terms = LoanTerms(load_products()["cash_loan"], Money.of("10000"), Decimal("0.12"), 12, dt.date(2026, 1, 1))
>>> s = build_schedule(terms)
>>> str(s.instalments[0].total), str(s.instalments[-1].total), str(s.total_interest)
('CNY 888.49', 'CNY 888.47', 'CNY 661.86')
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, localcontext
from functools import lru_cache

from fengkong.errors import InvalidArgumentError
from fengkong.money import Money, to_decimal
from fengkong.servicing.daycount import days_and_basis
from fengkong.servicing.products import Product

__all__ = [
    "Instalment",
    "LoanTerms",
    "Schedule",
    "add_months",
    "annuity_factor",
    "build_schedule",
    "due_dates",
]

RATE_PLACES = 6
FACTOR_PLACES = 10


def add_months(day: dt.date, months: int, *, anchor_day: int | None = None) -> dt.date:
    """``day`` moved by ``months`` calendar months, on ``anchor_day`` clamped to the month's end.

    >>> add_months(dt.date(2026, 1, 31), 1)
    datetime.date(2026, 2, 28)
    >>> add_months(dt.date(2026, 2, 28), 1, anchor_day=31)
    datetime.date(2026, 3, 31)
    """
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    wanted = anchor_day or day.day
    return dt.date(year, month + 1, min(wanted, calendar.monthrange(year, month + 1)[1]))


def due_dates(
    disbursed_on: dt.date, term: int, first_due_on: dt.date | None = None
) -> tuple[dt.date, ...]:
    """Monthly due dates on one day of the month, clamped to short months.

    The day is the first due date's when one is given, else the disbursement day, and the first
    due date defaults to one month after disbursement.
    """
    first = first_due_on or add_months(disbursed_on, 1)
    if first <= disbursed_on:
        raise InvalidArgumentError(
            "first_due_on", expected=f"a date after disbursement on {disbursed_on}", got=first
        )
    anchor = first.day if first_due_on else disbursed_on.day
    return tuple(add_months(first, k, anchor_day=anchor) for k in range(term))


@lru_cache(maxsize=4096)  # a pure function of few distinct (rate, periods): every period
def annuity_factor(annual_rate: Decimal, periods: int) -> Decimal:  # of a schedule asks again
    """``r / (1 - (1 + r)^-n)`` with ``r = annual_rate / 12``, to 10 places HALF_EVEN.

    >>> annuity_factor(Decimal("0.12"), 12)
    Decimal('0.0888487887')
    """
    with localcontext() as ctx:
        ctx.prec = 50
        if annual_rate == 0:
            factor = Decimal(1) / periods
        else:
            r = annual_rate / 12
            factor = r / (1 - (1 + r) ** -periods)
        return factor.quantize(Decimal(1).scaleb(-FACTOR_PLACES), rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class LoanTerms:
    """A contract: a product applied to a principal, an annual rate, a term and dates.

    The principal is the amount the borrower owes from day one; if the product deducts its
    upfront fee (砍头息), the borrower receives less (see :attr:`net_disbursed`), which the
    APR and the legal-cap check both see.
    """

    product: Product
    principal: Money
    annual_rate: Decimal
    term: int
    disbursed_on: dt.date
    first_due_on: dt.date | None = None
    upfront_fee_amount: Money | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.principal, Money) or self.principal.minor <= 0:
            raise InvalidArgumentError(
                "principal", expected="a positive amount of Money", got=self.principal
            )
        rate = to_decimal(self.annual_rate, field="annual_rate")
        if not Decimal(0) <= rate <= Decimal(10):
            raise InvalidArgumentError(
                "annual_rate", expected="a rate from 0 to 10 a year", got=self.annual_rate
            )
        if rate != rate.quantize(Decimal(1).scaleb(-RATE_PLACES)):
            raise InvalidArgumentError(
                "annual_rate",
                expected=f"at most {RATE_PLACES} decimal places",
                got=self.annual_rate,
            )
        object.__setattr__(self, "annual_rate", rate)
        self.product.check_term(self.term)
        fee = self.upfront_fee_amount
        if fee is not None and (
            fee.currency != self.principal.currency or not 0 <= fee.minor < self.principal.minor
        ):
            raise InvalidArgumentError(
                "upfront_fee",
                expected=f"an amount from 0 to below the principal {self.principal}",
                got=str(fee),
            )
        if self.first_due_on is not None and self.first_due_on <= self.disbursed_on:
            raise InvalidArgumentError(
                "first_due_on",
                expected=f"a date after disbursement on {self.disbursed_on}",
                got=self.first_due_on,
            )

    @property
    def upfront_fee(self) -> Money:
        """The upfront fee: the contract's own amount, else the product's rate on the principal."""
        if self.upfront_fee_amount is not None:
            return self.upfront_fee_amount
        return self.principal.multiply(self.product.upfront_fee_rate)

    @property
    def net_disbursed(self) -> Money:
        """What the borrower actually receives: principal less any deducted upfront fee."""
        return (
            self.principal - self.upfront_fee
            if self.product.upfront_fee_deducted
            else self.principal
        )


@dataclass(frozen=True, slots=True)
class Instalment:
    """One row of a schedule; ``balance`` is the principal outstanding after it is paid."""

    number: int
    due_on: dt.date
    principal: Money
    interest: Money
    fee: Money
    balance: Money

    @property
    def total(self) -> Money:
        return self.principal + self.interest + self.fee


@dataclass(frozen=True, slots=True)
class Schedule:
    """A contract's schedule with its totals."""

    terms: LoanTerms
    instalments: tuple[Instalment, ...]

    def _sum(self, part: str) -> Money:
        """One part summed over the instalments, in integer minor units."""
        minor = sum(getattr(i, part).minor for i in self.instalments)
        return Money.from_minor(minor, self.terms.principal.currency)

    @property
    def total_principal(self) -> Money:
        return self._sum("principal")

    @property
    def total_interest(self) -> Money:
        return self._sum("interest")

    @property
    def total_fees(self) -> Money:
        return self._sum("fee")

    @property
    def total_due(self) -> Money:
        minor = sum(i.principal.minor + i.interest.minor + i.fee.minor for i in self.instalments)
        return Money.from_minor(minor, self.terms.principal.currency)


def _interest(balance: int, rate: Decimal, day_count: str, start: dt.date, end: dt.date) -> int:
    days, basis = days_and_basis(day_count, start, end)
    return int(
        (Decimal(balance) * rate * days / basis).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    )


def _level_instalment(terms: LoanTerms, periods: int) -> int:
    raw = Decimal(terms.principal.minor) * annuity_factor(terms.annual_rate, periods)
    fen = int(raw.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    multiple = terms.product.instalment_multiple_fen
    return int((Decimal(fen) / multiple).quantize(Decimal(1), rounding=ROUND_CEILING)) * multiple


# A strategy gives the regular principal part of period k (1-based) from the state so far.
Strategy = Callable[[LoanTerms, int, int, int], int]


def _equal_instalment(terms: LoanTerms, k: int, balance: int, interest: int) -> int:
    grace = terms.product.principal_grace_periods
    return 0 if k <= grace else _level_instalment(terms, terms.term - grace) - interest


def _equal_principal(terms: LoanTerms, k: int, balance: int, interest: int) -> int:
    grace = terms.product.principal_grace_periods
    return 0 if k <= grace else terms.principal.minor // (terms.term - grace)


def _bullet(terms: LoanTerms, k: int, balance: int, interest: int) -> int:
    return 0


STRATEGIES: dict[str, Strategy] = {
    "equal_instalment": _equal_instalment,
    "equal_principal": _equal_principal,
    "flat_fee": _equal_principal,
    "interest_only": _bullet,
    "single_payment": _bullet,
}


def build_schedule(terms: LoanTerms) -> Schedule:
    """The contract's schedule (golden files in ``tests/unit/servicing/golden``)."""
    product, currency = terms.product, terms.principal.currency
    strategy = STRATEGIES[product.method]
    fee = terms.principal.multiply(product.instalment_fee_rate).minor
    balance = terms.principal.minor
    start = terms.disbursed_on
    rows = []
    dates = due_dates(terms.disbursed_on, terms.term, terms.first_due_on)
    for k, due in enumerate(dates, start=1):
        interest = _interest(balance, terms.annual_rate, product.day_count, start, due)
        principal = (
            balance
            if k == terms.term
            else min(max(strategy(terms, k, balance, interest), 0), balance)
        )
        balance -= principal
        rows.append(
            Instalment(
                number=k,
                due_on=due,
                principal=Money.from_minor(principal, currency),
                interest=Money.from_minor(interest, currency),
                fee=Money.from_minor(fee, currency),
                balance=Money.from_minor(balance, currency),
            )
        )
        start = due
    return Schedule(terms, tuple(rows))
