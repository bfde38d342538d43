"""The loan ledger: events in, state out, as a pure fold — any loan replays to any date.

Events are immutable facts with an idempotency ``key``: posting the same event twice changes
nothing; another event under a used key, a reversal of an unknown payment, a payment on a
settled loan or one above the payoff amount are refused, each naming the field.

Daily conventions (end of day, after the day's events):

- penalty interest (罚息) accrues each day after an instalment's due date on its unpaid
  principal at ``annual_rate x penalty_rate_multiplier / 365``, rounded to the fen per day;
- a late fee (``product.late_fee_fen``) is charged once on an instalment still unpaid
  ``grace_days`` after its due date;
- DPD counts from the oldest due date with unpaid principal, interest or fee (0 on the due
  date itself); a loan at ``npa_dpd`` or more is non-performing and its payments follow the
  NPA allocation order.

Payments follow a waterfall: pairs of (past due | due | in advance) x (penalty | fee |
interest | principal), each over instalments oldest first (Fineract's advanced allocation).

>>> import datetime as dt
>>> from decimal import Decimal
>>> from fengkong.money import Money
>>> from fengkong.servicing.products import load_products
>>> from fengkong.servicing.schedule import LoanTerms, build_schedule
>>> s = build_schedule(LoanTerms(load_products()["cash_loan"], Money.of("1200"), Decimal("0.12"), 3, dt.date(2026, 1, 5)))
>>> state = replay(s, [Repayment(dt.date(2026, 2, 5), Money.of("408.03"), key="p1")], as_of=dt.date(2026, 3, 20))
>>> state.dpd, state.bucket, str(state.outstanding_principal)
(15, 'M1', 'CNY 803.97')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from fengkong.errors import InvalidArgumentError
from fengkong.money import Money
from fengkong.servicing.products import Product
from fengkong.servicing.schedule import LoanTerms, Schedule, build_schedule

__all__ = [
    "DEFAULT_ORDER",
    "NPA_ORDER",
    "Allocation",
    "FeeCharge",
    "LoanState",
    "Prepayment",
    "Recovery",
    "Repayment",
    "Reschedule",
    "Reversal",
    "Waiver",
    "WriteOff",
    "bucket_of",
    "replay",
]

Component = Literal["penalty", "fee", "interest", "principal"]
When = Literal["past_due", "due", "in_advance"]
COMPONENTS: tuple[Component, ...] = ("penalty", "fee", "interest", "principal")
DEFAULT_ORDER: tuple[tuple[When, Component], ...] = tuple(
    (w, c) for w in ("past_due", "due", "in_advance") for c in COMPONENTS
)
NPA_ORDER: tuple[tuple[When, Component], ...] = tuple(
    (w, c)
    for w in ("past_due", "due", "in_advance")
    for c in ("principal", "interest", "fee", "penalty")
)
#: Default delinquency buckets (DOMAIN.md): upper DPD bound of each, the last open-ended.
BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("M0", 0),
    ("M1", 30),
    ("M2", 60),
    ("M3", 90),
    ("M4", 120),
    ("M5", 150),
    ("M6", 180),
    ("M7+", None),
)


def bucket_of(dpd: int, buckets: Sequence[tuple[str, int | None]] = BUCKETS) -> str:
    """The bucket holding ``dpd`` (configurable ranges; default M0..M7+).

    >>> bucket_of(0), bucket_of(30), bucket_of(31), bucket_of(400)
    ('M0', 'M1', 'M2', 'M7+')
    """
    for name, upper in buckets:
        if upper is None or dpd <= upper:
            return name
    return buckets[-1][0]


@dataclass(frozen=True, slots=True)
class Allocation:
    """The payment waterfall, and the one used once a loan is non-performing."""

    order: tuple[tuple[When, Component], ...] = DEFAULT_ORDER
    npa_order: tuple[tuple[When, Component], ...] = NPA_ORDER
    npa_dpd: int = 90

    @classmethod
    def of(cls, product: Product) -> Allocation:
        """The product's waterfall (its ``allocation`` fields), defaults where it sets none."""

        def pairs(
            order: tuple[str, ...] | None, default: tuple[tuple[When, Component], ...]
        ) -> tuple[tuple[When, Component], ...]:
            if order is None:
                return default
            return tuple(tuple(p.split(".")) for p in order)  # type: ignore[misc]

        return cls(
            pairs(product.allocation, DEFAULT_ORDER),
            pairs(product.npa_allocation, NPA_ORDER),
            product.npa_dpd,
        )


@dataclass(frozen=True, slots=True)
class Repayment:
    on: dt.date
    amount: Money
    key: str


@dataclass(frozen=True, slots=True)
class Reversal:
    on: dt.date
    reverses: str
    key: str


@dataclass(frozen=True, slots=True)
class FeeCharge:
    on: dt.date
    amount: Money
    instalment: int
    key: str


@dataclass(frozen=True, slots=True)
class Waiver:
    on: dt.date
    component: Component
    amount: Money
    key: str


@dataclass(frozen=True, slots=True)
class Prepayment:
    """Full prepayment (``amount=None``: the payoff) or partial, reducing the term or the instalment."""

    on: dt.date
    key: str
    amount: Money | None = None
    mode: Literal["reduce_term", "reduce_instalment"] = "reduce_instalment"


@dataclass(frozen=True, slots=True)
class Reschedule:
    """Re-age: everything unpaid becomes a new principal, re-amortised over ``term`` months from ``on``."""

    on: dt.date
    term: int
    key: str


@dataclass(frozen=True, slots=True)
class WriteOff:
    on: dt.date
    key: str


@dataclass(frozen=True, slots=True)
class Recovery:
    on: dt.date
    amount: Money
    key: str


Event = Repayment | Reversal | FeeCharge | Waiver | Prepayment | Reschedule | WriteOff | Recovery


@dataclass(slots=True)
class _Line:
    number: int
    due_on: dt.date
    due: dict[str, int]
    paid: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COMPONENTS, 0))
    late_fee_charged: bool = False

    def unpaid(self, component: str) -> int:
        return self.due[component] - self.paid[component]

    def scheduled_unpaid(self) -> int:
        return sum(self.unpaid(c) for c in ("fee", "interest", "principal"))


@dataclass(frozen=True, slots=True)
class InstalmentState:
    """One instalment at the state's date: what fell or falls due and what is paid, in fen."""

    number: int
    due_on: dt.date
    due: dict[str, int]
    paid: dict[str, int]
    late_fee_charged: bool = False

    @property
    def unpaid(self) -> int:
        return sum(self.due[c] - self.paid[c] for c in COMPONENTS)


@dataclass(frozen=True, slots=True)
class LoanState:
    """A loan as of a date: the result of replaying its events."""

    terms: LoanTerms
    as_of: dt.date
    instalments: tuple[InstalmentState, ...]
    status: Literal["active", "overdue", "settled", "written_off", "rescheduled"]
    dpd: int
    bucket: str
    npa: bool
    paid_total: Money
    written_off: Money
    recovered: Money
    applied_keys: tuple[str, ...]

    def _sum(self, component: str, *, unpaid: bool = True, due_by: dt.date | None = None) -> Money:
        total = sum(
            i.due[component] - (i.paid[component] if unpaid else 0)
            for i in self.instalments
            if due_by is None or i.due_on <= due_by
        )
        return Money.from_minor(total, self.terms.principal.currency)

    @property
    def outstanding_principal(self) -> Money:
        return (
            Money.zero(self.terms.principal.currency)
            if self.status == "written_off"
            else self._sum("principal")
        )

    @property
    def overdue(self) -> Money:
        """Principal, interest, fees and penalties fallen due before ``as_of`` and unpaid."""
        currency = self.terms.principal.currency
        if self.status == "written_off":
            return Money.zero(currency)
        total = sum(i.unpaid for i in self.instalments if i.due_on < self.as_of)
        return Money.from_minor(total, currency)

    @property
    def accrued_interest(self) -> Money:
        """Interest earned to ``as_of``: every period fallen due plus the current one pro rata by days."""
        total, previous = 0, self.terms.disbursed_on
        for i in self.instalments:
            if i.due_on <= self.as_of:
                total += i.due["interest"]
            elif previous <= self.as_of:
                span = max((i.due_on - previous).days, 1)
                total += i.due["interest"] * (self.as_of - previous).days // span
            previous = i.due_on
        return Money.from_minor(total, self.terms.principal.currency)

    def charged(self, component: Component) -> Money:
        """Everything charged so far under ``component`` (penalties and fees to date included)."""
        return self._sum(
            component, unpaid=False, due_by=None if component in ("penalty", "fee") else self.as_of
        )


def _penalty_per_day(principal: int, terms: LoanTerms) -> int:
    rate = terms.annual_rate * terms.product.penalty_rate_multiplier
    return int((Decimal(principal) * rate / 365).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


class _Book:
    """Mutable working state of one replay (never escapes :func:`replay`)."""

    def __init__(self, schedule: Schedule, allocation: Allocation) -> None:
        self.terms = schedule.terms
        self.allocation = allocation
        self.lines = [
            _Line(
                i.number,
                i.due_on,
                {
                    "penalty": 0,
                    "fee": i.fee.minor,
                    "interest": i.interest.minor,
                    "principal": i.principal.minor,
                },
            )
            for i in schedule.instalments
        ]
        self.day = schedule.terms.disbursed_on  # end of this day is accounted for
        self.status: str = "active"
        self.paid = 0
        self.written_off = 0
        self.recovered = 0

    # -- time ---------------------------------------------------------------------------
    def advance(self, to: dt.date) -> None:
        """Accrue penalties and late fees for every day after ``self.day`` through ``to``."""
        if to <= self.day or self.status in ("settled", "written_off"):
            self.day = max(self.day, to)
            return
        grace = self.terms.product.grace_days
        late_fee = self.terms.product.late_fee_fen
        for line in self.lines:
            start = max(self.day, line.due_on)  # penalty days are (start, to]
            unpaid_principal = line.unpaid("principal")
            if to > start and unpaid_principal > 0:
                line.due["penalty"] += (to - start).days * _penalty_per_day(
                    unpaid_principal, self.terms
                )
            fee_day = line.due_on + dt.timedelta(days=grace + 1)
            if (
                late_fee
                and not line.late_fee_charged
                and self.day < fee_day <= to
                and line.scheduled_unpaid() > 0
            ):
                line.due["fee"] += late_fee
                line.late_fee_charged = True
        self.day = to

    def dpd(self, on: dt.date) -> int:
        overdue = [
            line.due_on for line in self.lines if line.due_on < on and line.scheduled_unpaid() > 0
        ]
        return (on - min(overdue)).days if overdue else 0

    def payoff(self, on: dt.date) -> int:
        """Everything due by ``on``, interest of the current period to ``on``, remaining principal."""
        total = 0
        previous = self.terms.disbursed_on
        for line in self.lines:
            if line.due_on <= on:
                total += sum(line.unpaid(c) for c in COMPONENTS)
            else:
                total += line.unpaid(
                    "principal"
                )  # fees and interest of future periods are not yet earned
                if previous <= on < line.due_on:
                    days, span = (on - previous).days, (line.due_on - previous).days
                    total += max(
                        line.due["interest"] * days // max(span, 1) - line.paid["interest"], 0
                    )
            previous = line.due_on
        return total

    # -- money --------------------------------------------------------------------------
    def allocate(self, amount: int, on: dt.date) -> int:
        order = (
            self.allocation.npa_order
            if self.dpd(on) >= self.allocation.npa_dpd
            else self.allocation.order
        )
        left = amount
        for when, component in order:
            for line in self.lines:
                if left == 0:
                    return 0
                bucket = (
                    "past_due" if line.due_on < on else "due" if line.due_on == on else "in_advance"
                )
                if bucket != when:
                    continue
                take = min(left, line.unpaid(component))
                line.paid[component] += take
                left -= take
        return left

    def settle_if_done(self) -> None:
        if all(sum(line.unpaid(c) for c in COMPONENTS) == 0 for line in self.lines):
            self.status = "settled"

    def cut_future_interest(self, on: dt.date) -> None:
        """After a full payoff: interest not yet earned is cancelled (accrued part kept)."""
        previous = self.terms.disbursed_on
        for line in self.lines:
            if line.due_on > on:
                days, span = max((on - previous).days, 0), (line.due_on - previous).days
                earned = line.due["interest"] * days // max(span, 1) if previous <= on else 0
                line.due["interest"] = max(earned, line.paid["interest"])
                line.due["fee"] = line.paid["fee"]
            previous = line.due_on

    def reamortise(
        self,
        on: dt.date,
        principal: int,
        term: int,
        rate: Decimal,
        *,
        prepaid: int = 0,
        first_due: dt.date | None = None,
    ) -> None:
        """Replace the unpaid future with a new schedule for ``principal`` over ``term`` months from ``on``.

        Principal prepaid on ``on`` is kept as a paid line of its own, so principal parts still
        add up to the principal and every payment stays on a line.
        """
        kept = [line for line in self.lines if line.due_on <= on]
        for line in kept:  # what stays in the past is closed at what was paid
            for c in COMPONENTS:
                line.due[c] = line.paid[c]
        if prepaid:
            parts = {"penalty": 0, "fee": 0, "interest": 0, "principal": prepaid}
            kept.append(_Line(len(kept) + 1, on, dict(parts), dict(parts)))
        if principal <= 0:
            self.lines = kept
            return
        new_terms = _continuation(self.terms, principal, term, on, rate, first_due)
        base = len(kept)
        self.lines = kept + [
            _Line(
                base + i.number,
                i.due_on,
                {
                    "penalty": 0,
                    "fee": 0,
                    "interest": i.interest.minor,
                    "principal": i.principal.minor,
                },
            )
            for i in build_schedule(new_terms).instalments
        ]

    def unpaid_total(self) -> int:
        return sum(line.unpaid(c) for line in self.lines for c in COMPONENTS)


def _check_keys(events: Sequence[Event]) -> list[Event]:
    seen: dict[str, Event] = {}
    unique: list[Event] = []
    for event in events:
        if event.key in seen:
            if seen[event.key] != event:
                raise InvalidArgumentError(
                    "key",
                    expected=f"a key not used by another event ({seen[event.key]!r})",
                    got=event.key,
                )
            continue  # the same event posted twice: idempotent
        seen[event.key] = event
        unique.append(event)
    reversed_keys = {e.reverses for e in unique if isinstance(e, Reversal)}
    payments = {e.key for e in unique if isinstance(e, Repayment | Prepayment | Recovery)}
    unknown = reversed_keys - payments
    if unknown:
        raise InvalidArgumentError(
            "reverses", expected="the key of a posted payment", got=sorted(unknown)[0]
        )
    return [e for e in unique if not isinstance(e, Reversal) and e.key not in reversed_keys]


def replay(
    schedule: Schedule,
    events: Sequence[Event],
    *,
    as_of: dt.date,
    allocation: Allocation | None = None,
) -> LoanState:
    """Fold ``events`` over ``schedule`` up to the end of ``as_of``."""
    book = _Book(schedule, allocation or Allocation.of(schedule.terms.product))
    terms = schedule.terms
    effective = sorted(_check_keys(events), key=lambda e: e.on)
    applied: list[str] = []
    for event in effective:
        if event.on > as_of:
            break
        if event.on < terms.disbursed_on:
            raise InvalidArgumentError(
                "on",
                expected=f"a date on or after disbursement ({terms.disbursed_on})",
                got=event.on,
            )
        book.advance(event.on - dt.timedelta(days=1))
        _apply(book, event)
        applied.append(event.key)
    book.advance(as_of)
    dpd = book.dpd(as_of) if book.status not in ("settled",) else 0
    status = book.status
    if status in ("active", "rescheduled") and dpd > 0:
        status = "overdue" if status == "active" else status
    currency = terms.principal.currency
    return LoanState(
        terms=terms,
        as_of=as_of,
        instalments=tuple(
            InstalmentState(
                line.number, line.due_on, dict(line.due), dict(line.paid), line.late_fee_charged
            )
            for line in book.lines
        ),
        status=status,  # type: ignore[arg-type]
        dpd=dpd,
        bucket=bucket_of(dpd),
        npa=dpd >= book.allocation.npa_dpd,
        paid_total=Money.from_minor(book.paid, currency),
        written_off=Money.from_minor(book.written_off, currency),
        recovered=Money.from_minor(book.recovered, currency),
        applied_keys=tuple(applied),
    )


def _continuation(
    terms: LoanTerms,
    principal: int,
    term: int,
    on: dt.date,
    rate: Decimal,
    first_due: dt.date | None = None,
) -> LoanTerms:
    """Terms for re-amortising ``principal`` from ``on`` (reschedules and partial prepayments)."""
    method = (
        "equal_instalment" if terms.product.method == "single_payment" else terms.product.method
    )
    product = terms.product.model_copy(
        update={
            "method": method,
            "min_term": 1,
            "max_term": max(term, 1),
            "principal_grace_periods": 0,
        }
    )
    return LoanTerms(
        product, Money.from_minor(principal, terms.principal.currency), rate, term, on, first_due
    )


def _term_for_instalment(
    terms: LoanTerms, principal: int, level: int, most: int, on: dt.date, first_due: dt.date
) -> int:
    """The fewest months whose first instalment is at most ``level`` (a partial prepayment reducing the term)."""
    for months in range(1, most + 1):
        if (
            build_schedule(
                _continuation(terms, principal, months, on, terms.annual_rate, first_due)
            )
            .instalments[0]
            .total.minor
            <= level
        ):
            return months
    return most


def _money(amount: Money, terms: LoanTerms) -> int:
    if amount.currency != terms.principal.currency or amount.minor <= 0:
        raise InvalidArgumentError(
            "amount", expected=f"a positive amount in {terms.principal.currency}", got=str(amount)
        )
    return amount.minor


def _apply(book: _Book, event: Event) -> None:
    terms = book.terms
    if isinstance(event, Recovery):
        if book.status != "written_off":
            raise InvalidArgumentError(
                "loan", expected="a written-off loan for a recovery", got=book.status
            )
        book.recovered += _money(event.amount, terms)
        return
    if book.status in ("settled", "written_off"):
        raise InvalidArgumentError(
            "loan", expected="an active loan", got=f"{book.status} before {event.on}"
        )
    if isinstance(event, Repayment):
        amount = _money(event.amount, terms)
        payoff = book.payoff(event.on)
        if amount > payoff:
            raise InvalidArgumentError(
                "amount",
                expected=f"at most the payoff amount {Money.from_minor(payoff, terms.principal.currency)}",
                got=str(event.amount),
            )
        if amount == payoff:  # a payoff: unearned interest goes first, then everything is paid
            book.cut_future_interest(event.on)
        book.allocate(amount, event.on)
        book.paid += amount
        book.settle_if_done()
    elif isinstance(event, Prepayment):
        payoff = book.payoff(event.on)
        amount = payoff if event.amount is None else _money(event.amount, terms)
        if amount > payoff:
            raise InvalidArgumentError(
                "amount",
                expected=f"at most the payoff amount {Money.from_minor(payoff, terms.principal.currency)}",
                got=str(event.amount),
            )
        if amount == payoff:
            book.cut_future_interest(event.on)
            book.allocate(amount, event.on)
        else:
            due_now = sum(
                line.unpaid(c) for line in book.lines if line.due_on <= event.on for c in COMPONENTS
            )
            if amount <= due_now:
                book.allocate(amount, event.on)
            else:
                book.allocate(due_now, event.on)
                future = [line for line in book.lines if line.due_on > event.on]
                remaining = sum(line.unpaid("principal") for line in future) - (amount - due_now)
                count = len(future)
                if event.mode == "reduce_term" and remaining > 0:
                    level = future[0].due["principal"] + future[0].due["interest"]
                    count = _term_for_instalment(
                        terms, remaining, level, len(future), event.on, future[0].due_on
                    )
                book.reamortise(
                    event.on,
                    remaining,
                    count,
                    terms.annual_rate,
                    prepaid=amount - due_now,
                    first_due=future[0].due_on,
                )
        book.paid += amount
        book.settle_if_done()
    elif isinstance(event, Reversal):  # pragma: no cover - removed before the fold
        raise AssertionError("reversals are resolved before replay")
    elif isinstance(event, FeeCharge):
        line = next((ln for ln in book.lines if ln.number == event.instalment), None)
        if line is None:
            raise InvalidArgumentError(
                "instalment", expected=f"1 to {len(book.lines)}", got=event.instalment
            )
        line.due["fee"] += _money(event.amount, terms)
    elif isinstance(event, Waiver):
        left = _money(event.amount, terms)
        for line in book.lines:
            take = min(left, line.unpaid(event.component))
            line.due[event.component] -= take
            left -= take
        if left:
            raise InvalidArgumentError(
                "amount", expected=f"at most the unpaid {event.component}", got=str(event.amount)
            )
        book.settle_if_done()
    elif isinstance(event, Reschedule):
        if event.term < 1:
            raise InvalidArgumentError(
                "term", expected="a positive number of months", got=event.term
            )
        capital = book.unpaid_total()
        book.reamortise(event.on, capital, event.term, terms.annual_rate)
        book.status = "rescheduled"
    elif isinstance(event, WriteOff):
        book.written_off = sum(line.unpaid("principal") for line in book.lines)
        book.status = "written_off"
