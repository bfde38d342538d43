"""The loan ledger: events in, state out, as a pure fold — any loan replays to any date.

Events are immutable facts with an idempotency ``key``: posting the same event twice changes
nothing; another event under a used key, a reversal of an unknown payment or dated before its
payment, a recovery above the written-off amount less earlier recoveries, or a refund above the
suspense balance are refused, each naming the field. A payment above the payoff (or on a loan
already settled) is held in suspense until a :class:`Refund`, never lost. Events after
``as_of`` are ignored, reversals included: a reversal counts from its own date.

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
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from fengkong.errors import InvalidArgumentError
from fengkong.money import Money
from fengkong.servicing.forbearance import check_reage, plan_lines, reage_policy
from fengkong.servicing.products import Product
from fengkong.servicing.schedule import LoanTerms, Schedule, add_months, build_schedule

__all__ = [
    "DEFAULT_ORDER",
    "NPA_ORDER",
    "Allocation",
    "FeeCharge",
    "HardshipPlan",
    "LoanState",
    "PayoffQuote",
    "Prepayment",
    "Recovery",
    "Refund",
    "Repayment",
    "Reschedule",
    "Reversal",
    "Waiver",
    "WriteOff",
    "bucket_of",
    "payoff_quote",
    "replay",
]

Component = Literal["penalty", "fee", "interest", "principal"]
When = Literal["past_due", "due", "in_advance"]
COMPONENTS: tuple[Component, ...] = ("penalty", "fee", "interest", "principal")
PrepaymentMode = Literal["reduce_term", "reduce_instalment"]
PREPAYMENT_MODES: tuple[PrepaymentMode, ...] = ("reduce_term", "reduce_instalment")
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
    mode: PrepaymentMode = "reduce_instalment"


@dataclass(frozen=True, slots=True)
class Reschedule:
    """Re-age: the unpaid principal is re-amortised over ``term`` months from ``on``.

    Only principal is capitalised. Interest and fees fallen due and unpaid, the current period's
    interest earned to ``on`` and penalties stay owed on their own (bearing no interest), due
    with the first new instalment — unless the product capitalises them
    (``capitalise_arrears``, ``capitalise_penalties``; each capitalisation is recorded in
    ``LoanState.capitalised``). Interest not yet earned is never capitalised (Civil Code
    art. 677): the payoff right after a reschedule equals the payoff right before it. Limited by
    the product's ``reage_policy`` (:mod:`fengkong.servicing.forbearance`).
    """

    on: dt.date
    term: int
    key: str


@dataclass(frozen=True, slots=True)
class HardshipPlan:
    """Forbearance: ``months`` reduced instalments from ``on``, then the loan resumes.

    The unpaid principal gets ``months`` monthly instalments from ``on`` of ``share`` of the
    level principal (the principal over ``term``), with interest at the plan's annual ``rate``
    (0 freezes interest; at most the contract rate), see
    :func:`~fengkong.servicing.forbearance.plan_lines`. The rest is then re-amortised at the
    contract rate over ``term`` months (default: the instalments that were still to fall due,
    at least one): the loan ends ``months`` later than it would have. Arrears are kept owed as
    for a :class:`Reschedule` and fall due with the first resumed instalment. A re-age: the
    loan's DPD restarts at 0, its status is ``rescheduled`` and the product's ``reage_policy``
    limits it.
    """

    on: dt.date
    months: int
    key: str
    rate: Decimal = Decimal(0)
    share: Decimal = Decimal("0.5")
    term: int | None = None


@dataclass(frozen=True, slots=True)
class WriteOff:
    on: dt.date
    key: str


@dataclass(frozen=True, slots=True)
class Recovery:
    """Money recovered on a written-off loan: at most the amount written off less earlier recoveries."""

    on: dt.date
    amount: Money
    key: str


@dataclass(frozen=True, slots=True)
class Refund:
    """Money paid back to the borrower out of the loan's suspense balance (never more than it holds).

    A payment above the payoff, or on a loan already settled by an earlier payment of the same
    window, is not lost: the part above the payoff is held in suspense (``LoanState.suspense``)
    until a ``Refund`` pays it back.

    >>> import datetime as dt
    >>> from decimal import Decimal
    >>> from fengkong.servicing.products import load_products
    >>> s = build_schedule(LoanTerms(load_products()["cash_loan"], Money.of("1200"), Decimal("0"), 3, dt.date(2026, 1, 5)))
    >>> paid = Repayment(dt.date(2026, 1, 6), Money.of("1500"), key="p1")
    >>> replay(s, [paid], as_of=dt.date(2026, 1, 6)).suspense
    Money(amount=Decimal('300.00'), currency='CNY')
    >>> back = Refund(dt.date(2026, 1, 7), Money.of("300"), key="r1")
    >>> replay(s, [paid, back], as_of=dt.date(2026, 1, 7)).suspense
    Money(amount=Decimal('0.00'), currency='CNY')
    """

    on: dt.date
    amount: Money
    key: str


Event = (
    Repayment
    | Reversal
    | FeeCharge
    | Waiver
    | Prepayment
    | Reschedule
    | HardshipPlan
    | WriteOff
    | Recovery
    | Refund
)


@dataclass(slots=True)
class _Line:
    number: int
    due_on: dt.date
    due: dict[str, int]
    paid: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COMPONENTS, 0))
    late_fee_charged: bool = False
    #: A re-age moved what this line still owes (charges only) to fall due on this later date.
    deferred_to: dt.date | None = None
    #: The instalment as scheduled (principal + interest + fee), for the re-age payment test.
    scheduled: int = 0

    @property
    def due_date(self) -> dt.date:
        """When what this line owes is demanded: its due date, or the date a re-age moved it to."""
        return self.due_on if self.deferred_to is None else max(self.due_on, self.deferred_to)

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
    #: Set when a re-age deferred this instalment's unpaid charges: the date they fall due.
    deferred_to: dt.date | None = None

    @property
    def unpaid(self) -> int:
        return sum(self.due[c] - self.paid[c] for c in COMPONENTS)

    @property
    def due_date(self) -> dt.date:
        """When what this instalment owes is demanded (``deferred_to`` if a re-age moved it)."""
        return self.due_on if self.deferred_to is None else max(self.due_on, self.deferred_to)


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
    #: Money received from the borrower, in date order: ``(date, fen, charged)`` per payment
    #: (repayments, prepayments, recoveries), ``charged`` being the charges the contract had
    #: earned by then (interest to the day, fees and penalties fallen due) — what the legal
    #: statement credits, and at most what a payment can pay of charges.
    payments: tuple[tuple[dt.date, int, int], ...] = ()
    #: Principal the lender waived: ``(date, fen)`` per waiver (no longer owed from that day).
    principal_waived: tuple[tuple[dt.date, int], ...] = ()
    #: Money held for the borrower, in fen: payments above the payoff less refunds.
    suspense_fen: int = 0
    #: ``(key, fen)`` per payment that went (in part) to suspense instead of the loan.
    unapplied: tuple[tuple[str, int], ...] = ()
    #: Paid in advance and held for the next due date (``hold_credit`` products), in fen.
    credit_fen: int = 0
    #: The dates of the loan's re-ages (reschedules and hardship plans), for the re-age limits.
    reages: tuple[dt.date, ...] = ()
    #: ``(date, component, fen)`` per charge a re-age turned into principal (the product's
    #: ``capitalise_arrears`` / ``capitalise_penalties``): never silent, so a statement can
    #: still count it as a charge under the caps.
    capitalised: tuple[tuple[dt.date, str, int], ...] = ()

    @property
    def credit(self) -> Money:
        """Paid in advance, held for the borrower until the next due date (``hold_credit``)."""
        return Money.from_minor(self.credit_fen, self.terms.principal.currency)

    @property
    def suspense(self) -> Money:
        """The suspense balance: received above the payoff, not yet refunded."""
        return Money.from_minor(self.suspense_fen, self.terms.principal.currency)

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
        total = sum(i.unpaid for i in self.instalments if i.due_date < self.as_of)
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


def penalty_per_day(principal: int, terms: LoanTerms) -> int:
    """One day's penalty interest (罚息) on ``principal`` fen overdue, rounded to the fen."""
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
                scheduled=i.total.minor,
            )
            for i in schedule.instalments
        ]
        #: principal a re-age moved into the future that was not repaid early there (arrears,
        #: capitalised charges): it bears no prepayment fee
        self.fee_free = 0
        self.day = schedule.terms.disbursed_on  # end of this day is accounted for
        self.status: str = "active"
        self.paid = 0
        self.written_off = 0
        self.recovered = 0
        self.principal_waived: list[tuple[dt.date, int]] = []
        self.credit = 0  # paid in advance, held for the next due date (``hold_credit``)
        self.released = 0  # held credit the loan could not take, for the suspense balance
        self.received: list[tuple[dt.date, int]] = []  # payments, for the re-age limits
        #: ``(paid on, fen, reversed on)`` per payment reversed by ``as_of``: it stood until its
        #: reversal, so a re-age granted before the reversal still counted it
        self.reversed: list[tuple[dt.date, int, dt.date]] = []
        self.reages: list[dt.date] = []
        self.capitalised: list[tuple[dt.date, str, int]] = []

    # -- time ---------------------------------------------------------------------------
    def advance(self, to: dt.date) -> None:
        """Accrue penalties and late fees for every day after ``self.day`` through ``to``; a held
        credit pays each due date on the way, as a payment on that day."""
        while self.credit and self.status not in ("settled", "written_off"):
            dates = [line.due_date for line in self.lines if self.day < line.due_date <= to]
            if not dates:
                break
            day = min(dates)
            self._accrue(day - dt.timedelta(days=1))
            used = min(self.credit, self.due_now(day))
            self.credit -= used
            self.allocate(used, day)
            self.settle_if_done()
            self.settle_with_credit(day)
            self._accrue(day)
        self._accrue(to)

    def _accrue(self, to: dt.date) -> None:
        if to <= self.day or self.status in ("settled", "written_off"):
            self.day = max(self.day, to)
            return
        grace = self.terms.product.grace_days
        late_fee = self.terms.product.late_fee_fen
        for line in self.lines:
            start = max(self.day, line.due_date)  # penalty days are (start, to]
            unpaid_principal = line.unpaid("principal")
            if to > start and unpaid_principal > 0:
                line.due["penalty"] += (to - start).days * penalty_per_day(
                    unpaid_principal, self.terms
                )
            fee_day = line.due_date + dt.timedelta(days=grace + 1)
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
            line.due_date
            for line in self.lines
            if line.due_date < on and line.scheduled_unpaid() > 0
        ]
        return (on - min(overdue)).days if overdue else 0

    def charged(self, on: dt.date) -> int:
        """The charges the contract has earned by ``on`` (before that day's events): interest
        of the periods due and of the current one pro rata by days, fees fallen due, the
        penalties accrued, and anything already paid in advance."""
        total, previous = 0, self.terms.disbursed_on
        for line in self.lines:
            if line.due_on <= on:
                interest, fee = line.due["interest"], line.due["fee"]
            elif previous <= on:
                span = max((line.due_on - previous).days, 1)
                interest, fee = line.due["interest"] * (on - previous).days // span, 0
            else:
                interest, fee = 0, 0
            total += max(interest, line.paid["interest"]) + max(fee, line.paid["fee"])
            total += line.due["penalty"]
            previous = line.due_on
        return total

    def due_now(self, on: dt.date) -> int:
        """Everything demanded by ``on`` (its instalments, penalties and fees) and unpaid;
        charges a re-age deferred count from the date they were moved to."""
        return sum(line.unpaid(c) for line in self.lines if line.due_date <= on for c in COMPONENTS)

    def fallen_due(self, on: dt.date) -> int:
        """Everything of the instalments due by ``on`` unpaid, deferred charges included (earned)."""
        return sum(line.unpaid(c) for line in self.lines if line.due_on <= on for c in COMPONENTS)

    def current(self, on: dt.date) -> tuple[_Line, dt.date] | None:
        """The instalment whose period holds ``on`` (first due after it) and its period's start."""
        previous = self.terms.disbursed_on
        for line in self.lines:
            if line.due_on > on:
                return line, previous
            previous = line.due_on
        return None

    def earned_unpaid(self, on: dt.date) -> int:
        """Interest of the current period earned to ``on`` (pro rata by days) and not yet paid."""
        found = self.current(on)
        if found is None:
            return 0
        line, start = found
        span = max((line.due_on - start).days, 1)
        return max(line.due["interest"] * (on - start).days // span - line.paid["interest"], 0)

    def future_principal(self, on: dt.date) -> int:
        return sum(line.unpaid("principal") for line in self.lines if line.due_on > on)

    def fee_rate(self, on: dt.date) -> Decimal:
        """The agreed prepayment fee per fen of principal repaid early, cut to the cap.

        The fee plus the contract's charges that principal bore since disbursement stay within
        ``charges_cap_rate`` a year over the actual period (``products.yaml`` cites the rule).
        """
        product = self.terms.product
        if not product.prepayment_fee_rate or product.charges_cap_rate is None:
            return Decimal(0)
        charges = self.terms.annual_rate + 12 * product.instalment_fee_rate
        days = (on - self.terms.disbursed_on).days
        room = max(product.charges_cap_rate - charges, Decimal(0)) * days / 365
        return min(product.prepayment_fee_rate, room)

    def fee_base(self, on: dt.date) -> int:
        """The principal a payoff on ``on`` repays early: the principal not yet due, less what a
        re-age moved there from arrears (``fee_free``), which is not repaid early."""
        return max(self.future_principal(on) - self.fee_free, 0)

    def prepayment_fee(self, on: dt.date, principal: int) -> int:
        rate = self.fee_rate(on)
        return int((rate * principal).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))

    def payoff(self, on: dt.date) -> int:
        """What settles the loan on ``on``: everything fallen due, interest of the current period
        earned to ``on``, the principal not yet due and any agreed prepayment fee, less a held
        credit. Interest and fees of future periods are not earned (Civil Code art. 677)."""
        future = self.future_principal(on)
        total = self.fallen_due(on) + future + self.earned_unpaid(on)
        return max(total + self.prepayment_fee(on, self.fee_base(on)) - self.credit, 0)

    # -- money --------------------------------------------------------------------------
    def pay(self, amount: int, on: dt.date, *, mode: str | None = None) -> None:
        """Apply ``amount`` (at most the payoff) paid on ``on``.

        The payoff settles the loan; up to what is due now follows the waterfall; the rest is
        a payment in advance: held as a credit (``hold_credit`` products, when ``mode`` is
        ``None``) or repaying principal (``reduce_principal``; a :class:`Prepayment` names its
        ``mode``), never buying interest or fees not yet earned.
        """
        if amount == self.payoff(on):
            self.release(self.pay_off(on, amount))
            return
        due_now = self.due_now(on)
        if amount <= due_now:
            self.allocate(amount, on)
            return
        self.allocate(due_now, on)
        rest = amount - due_now
        if mode is None and self.terms.product.in_advance == "hold_credit":
            self.credit += rest
            return
        rest = self.pay_deferred(rest, on)
        if rest:
            self.prepay(on, rest, mode or "reduce_instalment")

    def pay_deferred(self, amount: int, on: dt.date) -> int:
        """Pay arrears a re-age deferred past ``on`` (earned, owed, only demanded later) by the
        waterfall's past-due order, before any principal is repaid early; returns what is left."""
        order = (
            self.allocation.npa_order
            if self.dpd(on) >= self.allocation.npa_dpd
            else self.allocation.order
        )
        left = amount
        for component in [c for w, c in order if w == "past_due"]:
            for line in self.lines:
                if line.due_on <= on < line.due_date and left:
                    take = min(left, line.unpaid(component))
                    line.paid[component] += take
                    left -= take
        return left

    def pay_off(self, on: dt.date, amount: int) -> int:
        """Settle on ``on``: unearned interest and fees cancelled, any agreed fee charged; returns
        what ``amount`` and the held credit did not need (0 unless the credit exceeded the debt)."""
        fee = self.prepayment_fee(on, self.fee_base(on))
        self.cut_future_interest(on)
        found = self.current(on)
        if found is not None:
            found[0].due["fee"] += fee
        left = self.allocate(amount + self.credit, on, in_advance=True)
        self.credit = 0
        return left

    def settle_with_credit(self, on: dt.date) -> None:
        """A held credit covering all the loan owes on ``on`` settles it (as a payoff); what the
        credit did not need goes to suspense (``released``), refundable, never lost."""
        if not self.credit or self.status in ("settled", "written_off"):
            return
        if self.payoff(on) > 0:
            return
        self.release(self.pay_off(on, 0))
        self.settle_if_done()

    def release(self, fen: int) -> None:
        """Move ``fen`` the loan holds but cannot take back out of it (to suspense)."""
        self.released += fen
        self.paid -= fen

    def prepay(self, on: dt.date, amount: int, mode: str) -> None:
        """Money above what is due now: interest earned to ``on`` first, then principal (less
        any agreed fee); the future is re-amortised on the lower balance from ``on``."""
        found = self.current(on)
        if found is None:  # pragma: no cover - nothing in the future: the payoff was due now
            raise AssertionError("a payment in advance with no future instalment")
        line = found[0]
        take = min(amount, self.earned_unpaid(on))
        line.paid["interest"] += take
        rest = amount - take
        if not rest:
            return
        future = [ln for ln in self.lines if ln.due_on > on]
        outstanding = self.future_principal(on)
        rate = self.fee_rate(on)
        free = min(self.fee_free, outstanding)  # re-aged arrears: repaid first, with no fee
        if rest <= free:
            principal = rest
        else:
            early = Decimal(rest - free) / (1 + rate)
            principal = min(
                free + int(early.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)), outstanding
            )
        self.fee_free -= min(principal, free)
        remaining, count = outstanding - principal, len(future)
        if mode == "reduce_term" and remaining > 0:
            level = future[0].due["principal"] + future[0].due["interest"]
            count = _term_for_instalment(
                self.terms, remaining, level, len(future), on, future[0].due_on
            )
        self.reamortise(
            on,
            remaining,
            count,
            self.terms.annual_rate,
            prepaid=principal,
            prepaid_interest=line.paid["interest"],
            prepaid_fee=rest - principal,
            first_due=future[0].due_on,
            fees=True,
        )

    def allocate(self, amount: int, on: dt.date, *, in_advance: bool = False) -> int:
        """Pay ``amount`` by the waterfall; the ``in_advance`` slots only for a payoff."""
        order = (
            self.allocation.npa_order
            if self.dpd(on) >= self.allocation.npa_dpd
            else self.allocation.order
        )
        left = amount
        for when, component in order:
            if when == "in_advance" and not in_advance:
                continue
            for line in self.lines:
                if left == 0:
                    return 0
                due_date = line.due_date
                bucket = "past_due" if due_date < on else "due" if due_date == on else "in_advance"
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
        """On a full payoff: interest and fees not yet earned are cancelled (accrued part kept)."""
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
        prepaid_interest: int = 0,
        prepaid_fee: int = 0,
        first_due: dt.date | None = None,
        fees: bool = False,
    ) -> None:
        """Replace the unpaid future with a new schedule for ``principal`` over ``term`` months from ``on``.

        Principal prepaid on ``on`` is kept as a paid line of its own, due on ``on`` with the
        interest earned to ``on`` and any prepayment fee, so principal parts still add up to the
        principal, every payment stays on a line and the new first period accrues from ``on``.
        ``fees``: the new schedule keeps the product's instalment fees (on the new principal).
        The past keeps its principal closed at what was paid (the caller puts the rest in
        ``principal``); charges it still owes (a re-age's deferred arrears) stay owed.
        """
        kept = [line for line in self.lines if line.due_on <= on]
        for line in kept:  # principal left in the past moves to the new schedule
            line.due["principal"] = line.paid["principal"]
        if prepaid:
            parts = {
                "penalty": 0,
                "fee": prepaid_fee,
                "interest": prepaid_interest,
                "principal": prepaid,
            }
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
                    "fee": i.fee.minor if fees else 0,
                    "interest": i.interest.minor,
                    "principal": i.principal.minor,
                },
                scheduled=(i.fee.minor if fees else 0) + i.interest.minor + i.principal.minor,
            )
            for i in build_schedule(new_terms).instalments
        ]

    def reschedule(self, on: dt.date, term: int) -> None:
        """Re-age on ``on`` over ``term`` months (see :class:`Reschedule`): the principal not
        yet repaid is re-amortised; arrears stay owed, due with the first new instalment, unless
        the product capitalises them — never interest or fees of future periods (Civil Code
        art. 677)."""
        _check_reage(self, on)
        capital = _carry_arrears(self, on, add_months(on, 1))
        self.reamortise(on, capital, term, self.terms.annual_rate)
        self.status = "rescheduled"

    def unpaid_total(self) -> int:
        return sum(line.unpaid(c) for line in self.lines for c in COMPONENTS)


def _check_keys(events: Sequence[Event], as_of: dt.date | None = None) -> list[Event]:
    """The events in force at the end of ``as_of`` (every one when ``None``), keys checked.

    Keys, reversals and their dates are checked over the whole log, whatever ``as_of``: a
    reused key, a reversal of an unknown payment or one dated before its payment is refused. A
    reversal removes its payment only from its own date on: as of an earlier date the payment
    stands. Events after ``as_of`` are left out.
    """
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
    payments = {e.key: e for e in unique if isinstance(e, Repayment | Prepayment | Recovery)}
    reversals = [e for e in unique if isinstance(e, Reversal)]
    unknown = {e.reverses for e in reversals} - set(payments)
    if unknown:
        raise InvalidArgumentError(
            "reverses", expected="the key of a posted payment", got=sorted(unknown)[0]
        )
    for reversal in reversals:
        paid_on = payments[reversal.reverses].on
        if reversal.on < paid_on:
            raise InvalidArgumentError(
                "on",
                expected=f"a reversal dated on or after its payment {reversal.reverses!r} ({paid_on})",
                got=reversal.on,
            )
    reversed_keys = {e.reverses for e in reversals if as_of is None or e.on <= as_of}
    return [
        e
        for e in unique
        if not isinstance(e, Reversal)
        and e.key not in reversed_keys
        and (as_of is None or e.on <= as_of)
    ]


def _reversed_by(events: Sequence[Event], as_of: dt.date) -> list[tuple[dt.date, int, dt.date]]:
    """``(paid on, fen, reversed on)`` per repayment or prepayment (with an amount) whose
    reversal is dated by ``as_of`` (keys already checked by :func:`_check_keys`)."""
    paid = {
        e.key: e
        for e in events
        if isinstance(e, Repayment | Prepayment) and e.amount is not None and e.on <= as_of
    }
    gone: dict[str, dt.date] = {}
    for e in events:
        if isinstance(e, Reversal) and e.on <= as_of and e.reverses in paid:
            gone[e.reverses] = min(e.on, gone.get(e.reverses, e.on))
    out = []
    for key, on in gone.items():
        amount = paid[key].amount
        assert amount is not None
        out.append((paid[key].on, amount.minor, on))
    return out


class _Suspense:
    """Money received that the loan cannot take, held for the borrower (one replay's working state)."""

    def __init__(self) -> None:
        self.balance = 0
        self.parts: list[tuple[str, int]] = []

    def hold(self, book: _Book) -> None:
        """Take in the held credit the loan released (more than it owed, or written off)."""
        self.balance += book.released
        book.released = 0

    def take(self, book: _Book, event: Event) -> Event | None:
        """Route what the loan cannot take to suspense; the event to apply to the loan, if any.

        A repayment or prepayment above the payoff is applied up to the payoff and the rest
        held; one on a loan already settled is held whole; a refund pays the balance back.
        """
        terms = book.terms
        if isinstance(event, Refund):
            amount = _money(event.amount, terms)
            if amount > self.balance:
                balance = Money.from_minor(self.balance, terms.principal.currency)
                raise InvalidArgumentError(
                    "amount",
                    expected=f"at most the suspense balance {balance} on {event.on}",
                    got=str(event.amount),
                )
            self.balance -= amount
            return None
        if not isinstance(event, Repayment | Prepayment) or event.amount is None:
            return event
        amount = _money(event.amount, terms)
        payoff = 0 if book.status == "settled" else book.payoff(event.on)
        if book.status == "written_off" or amount <= payoff:
            return event  # a payment on a written-off loan is refused by _apply: a recovery
        self.balance += amount - payoff
        self.parts.append((event.key, amount - payoff))
        if payoff == 0:
            return None
        return replace(event, amount=Money.from_minor(payoff, terms.principal.currency))


def _same_day_repayments(
    events: list[Event], terms: LoanTerms
) -> tuple[list[Event], dict[str, tuple[str, ...]]]:
    """A day's repayments in a row as one payment of their sum, at the first one's place.

    Interest and penalties accrue by the day, so payments with one value date are one payment:
    100 and then the rest of the payoff on one day settle the loan, as end of day (which sums
    a day's payments) says. Only repayments with no other event of the day between them are
    merged: one posted after a same-day waiver, fee or re-age is applied after it, on the
    terms that event made (the day's payoff quote counts it). Returns the events and, per
    merged payment, the keys it took in.
    """
    out: list[Event] = []
    merged: dict[str, tuple[str, ...]] = {}
    for event in events:
        if not isinstance(event, Repayment):
            out.append(event)
            continue
        _money(event.amount, terms)  # each payment is checked before it is summed
        first = out[-1] if out else None
        if not isinstance(first, Repayment) or first.on != event.on:
            out.append(event)
            continue
        out[-1] = replace(first, amount=first.amount + event.amount)
        merged[first.key] = (*merged.get(first.key, ()), event.key)
    return out, merged


def _fold(
    schedule: Schedule,
    events: Sequence[Event],
    as_of: dt.date,
    allocation: Allocation | None,
) -> tuple[_Book, list[str], list[tuple[dt.date, int, int]], _Suspense]:
    """The events in force at ``as_of`` applied in date order; the end of ``as_of`` not yet run."""
    book = _Book(schedule, allocation or Allocation.of(schedule.terms.product))
    terms = schedule.terms
    book.reversed = _reversed_by(events, as_of)
    effective, merged = _same_day_repayments(
        sorted(_check_keys(events, as_of), key=lambda e: e.on), terms
    )
    applied: list[str] = []
    payments: list[tuple[dt.date, int, int]] = []
    suspense = _Suspense()
    for event in effective:
        if event.on < terms.disbursed_on:
            raise InvalidArgumentError(
                "on",
                expected=f"a date on or after disbursement ({terms.disbursed_on})",
                got=event.on,
            )
        _check_fields(event, terms)
        book.advance(event.on - dt.timedelta(days=1))
        received = book.paid + book.recovered
        charged = book.charged(event.on)
        to_loan = suspense.take(book, event)
        if to_loan is not None:
            _apply(book, to_loan)
            book.settle_with_credit(event.on)
        suspense.hold(book)
        applied.extend((event.key, *merged.get(event.key, ())))
        if book.paid + book.recovered > received:
            payments.append((event.on, book.paid + book.recovered - received, charged))
            book.received.append((event.on, book.paid + book.recovered - received))
        if isinstance(to_loan, Waiver) and to_loan.component == "principal":
            book.principal_waived.append((to_loan.on, to_loan.amount.minor))
    return book, applied, payments, suspense


def replay(
    schedule: Schedule,
    events: Sequence[Event],
    *,
    as_of: dt.date,
    allocation: Allocation | None = None,
) -> LoanState:
    """Fold ``events`` over ``schedule`` up to the end of ``as_of``.

    Repayments dated the same day, with no other event of the day between them, act as one
    payment of their sum (the day's value date).
    """
    book, applied, payments, suspense = _fold(schedule, events, as_of, allocation)
    terms = schedule.terms
    book.advance(as_of)
    suspense.hold(book)
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
                line.number,
                line.due_on,
                dict(line.due),
                dict(line.paid),
                line.late_fee_charged,
                line.deferred_to,
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
        payments=tuple(payments),
        principal_waived=tuple(book.principal_waived),
        suspense_fen=suspense.balance,
        unapplied=tuple(suspense.parts),
        credit_fen=book.credit,
        reages=tuple(book.reages),
        capitalised=tuple(book.capitalised),
    )


@dataclass(frozen=True, slots=True)
class PayoffQuote:
    """What settles a loan on ``on``, in parts (Civil Code art. 677: interest for the actual period).

    ``total`` = ``principal`` (all not yet repaid) + ``interest`` (fallen due and unpaid, plus
    the current period's earned to ``on``) + ``penalty`` + ``fee`` (fallen due) +
    ``prepayment_fee`` (agreed, within the cap) - ``credit`` (held for the borrower).
    """

    on: dt.date
    status: str
    principal: Money
    interest: Money
    penalty: Money
    fee: Money
    prepayment_fee: Money
    credit: Money
    total: Money


def payoff_quote(
    schedule: Schedule,
    events: Sequence[Event],
    *,
    on: dt.date,
    allocation: Allocation | None = None,
) -> PayoffQuote:
    """The payoff of a loan on ``on``: principal + interest earned to the date + lawful charges due.

    The events of ``on`` itself count (a payment made earlier that day lowers the quote); the
    end of ``on`` does not (paid on ``on``, no penalty accrues for that day). Exactly this
    amount paid on ``on`` settles the loan. A settled or written-off loan quotes 0.

    Examples
    --------
    12,000 at 12 % over 12 months from 2026-01-10 (30/360: 120.00 interest the first month).
    Paid off on 2026-01-13, three days in: 12,000 principal + 120.00 x 3 / 31 days = 11.61.

    >>> from fengkong.servicing.products import load_products
    >>> s = build_schedule(LoanTerms(load_products()["cash_loan"], Money.of("12000"), Decimal("0.12"), 12, dt.date(2026, 1, 10)))
    >>> q = payoff_quote(s, [], on=dt.date(2026, 1, 13))
    >>> str(q.total), str(q.principal), str(q.interest)
    ('CNY 12,011.61', 'CNY 12,000.00', 'CNY 11.61')
    >>> replay(s, [Repayment(q.on, q.total, key="p")], as_of=q.on).status
    'settled'
    """
    terms = schedule.terms
    if on < terms.disbursed_on:
        raise InvalidArgumentError(
            "on", expected=f"a date on or after disbursement ({terms.disbursed_on})", got=on
        )
    book = _fold(schedule, events, on, allocation)[0]
    book.advance(on - dt.timedelta(days=1))
    currency = terms.principal.currency

    def money(fen: int) -> Money:
        return Money.from_minor(fen, currency)

    if book.status in ("settled", "written_off"):
        zero = money(0)
        return PayoffQuote(on, book.status, *([zero] * 7))
    fallen = [line for line in book.lines if line.due_on <= on]
    future = book.future_principal(on)
    parts = {c: sum(line.unpaid(c) for line in fallen) for c in ("penalty", "fee", "interest")}
    fee = book.prepayment_fee(on, book.fee_base(on))
    principal = future + sum(line.unpaid("principal") for line in fallen)
    interest = parts["interest"] + book.earned_unpaid(on)
    total = book.payoff(on)
    return PayoffQuote(
        on,
        book.status,
        principal=money(principal),
        interest=money(interest),
        penalty=money(parts["penalty"]),
        fee=money(parts["fee"]),
        prepayment_fee=money(fee),
        credit=money(book.credit),
        total=money(total),
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


#: The longest a re-age may run: a reschedule's term, a hardship plan's months and its resumption.
MAX_REAGE_MONTHS = 480


def _regular_instalment(book: _Book, on: dt.date) -> int:
    """The instalment in force on ``on`` as scheduled: the latest due by then, else the first."""
    lines = [line for line in book.lines if line.scheduled > 0]
    due = [line for line in lines if line.due_on <= on]
    found = due[-1] if due else lines[0] if lines else None
    return found.scheduled if found is not None else 0


def _check_reage(book: _Book, on: dt.date) -> None:
    """Refuse a re-age the product's ``reage_policy`` does not allow on ``on``; record it."""
    check_reage(
        reage_policy(book.terms.product.reage_policy),
        on,
        earlier=book.reages,
        payments=sorted(
            [
                *book.received,
                *((paid_on, fen) for paid_on, fen, gone in book.reversed if paid_on <= on < gone),
            ]
        ),
        instalment_fen=_regular_instalment(book, on),
    )
    book.reages.append(on)


def _carry_arrears(book: _Book, on: dt.date, resume: dt.date) -> int:
    """Close the loan's past for a re-age on ``on``; returns the principal to re-amortise.

    The current period's interest earned to ``on`` (and anything already paid on instalments
    not yet due) goes on a line due on ``on``, so the new schedule accrues from ``on`` and no
    earned interest is lost nor unearned interest charged. Principal unpaid moves to the new
    schedule. Interest and fees unpaid (and penalties) stay owed on their lines, bearing no
    interest, demanded from ``resume`` — or, where the product says so (``capitalise_arrears``,
    ``capitalise_penalties``), join the principal, each capitalisation recorded.
    """
    earned = book.earned_unpaid(on)
    early = book.fee_base(on)  # what a payoff repays early stays so: the payoff is unchanged
    kept = [line for line in book.lines if line.due_on <= on]
    future = [line for line in book.lines if line.due_on > on]
    principal = sum(line.unpaid("principal") for line in book.lines)
    paid: dict[str, int] = {c: sum(line.paid[c] for line in future) for c in COMPONENTS}
    last = kept[-1].due_on if kept else book.terms.disbursed_on
    if last < on or any(paid.values()):
        due = dict(paid)
        due["interest"] += earned
        kept.append(_Line(len(kept) + 1, on, due, dict(paid)))
    book.lines = kept  # the caller adds the new future
    product = book.terms.product
    chosen = {
        "interest": product.capitalise_arrears,
        "fee": product.capitalise_arrears,
        "penalty": product.capitalise_penalties,
    }
    for line in kept:
        line.due["principal"] = line.paid["principal"]
        for component, capitalise in chosen.items():
            unpaid = line.unpaid(component)
            if capitalise and unpaid:
                line.due[component] = line.paid[component]
                principal += unpaid
                book.capitalised.append((on, component, unpaid))
        if any(line.unpaid(c) for c in COMPONENTS):
            line.deferred_to = resume
    book.fee_free = max(principal - early, 0)
    return principal


def _finite_decimal(name: str, value: object) -> Decimal:
    """``value`` as a finite ``Decimal`` (never a float on a money path), else refused naming ``name``."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidArgumentError(name, expected="a finite Decimal", got=value)
    return value


def _check_plan(event: HardshipPlan, terms: LoanTerms) -> None:
    if isinstance(event.months, bool) or not isinstance(event.months, int):
        raise InvalidArgumentError("months", expected="a whole number of months", got=event.months)
    if not 1 <= event.months <= MAX_REAGE_MONTHS:
        raise InvalidArgumentError(
            "months", expected=f"1 to {MAX_REAGE_MONTHS} months", got=event.months
        )
    _finite_decimal("rate", event.rate)
    _finite_decimal("share", event.share)
    if not Decimal(0) <= event.rate <= terms.annual_rate:
        raise InvalidArgumentError(
            "rate",
            expected=f"a plan rate from 0 to the contract rate {terms.annual_rate}",
            got=event.rate,
        )
    if not Decimal(0) <= event.share <= 1:
        raise InvalidArgumentError("share", expected="a share from 0 to 1", got=event.share)
    if event.term is not None and not 1 <= event.term <= MAX_REAGE_MONTHS:
        raise InvalidArgumentError(
            "term", expected=f"1 to {MAX_REAGE_MONTHS} months or none", got=event.term
        )


def _hardship(book: _Book, event: HardshipPlan) -> None:
    """Apply a :class:`HardshipPlan`: reduced lines from ``on``, then the rest re-amortised."""
    terms, on = book.terms, event.on
    _check_plan(event, terms)
    remaining = sum(1 for line in book.lines if line.due_on > on)
    term = event.term if event.term is not None else max(remaining, 1)
    _check_reage(book, on)
    end = add_months(on, event.months, anchor_day=on.day)  # the last reduced instalment
    resume = add_months(on, event.months + 1, anchor_day=on.day)
    capital = _carry_arrears(book, on, resume)
    base = len(book.lines)
    reduced = plan_lines(capital, on, event.months, event.rate, event.share, term)
    for k, (due_on, interest, principal) in enumerate(reduced, start=1):
        due = {"penalty": 0, "fee": 0, "interest": interest, "principal": principal}
        book.lines.append(_Line(base + k, due_on, due, scheduled=interest + principal))
    left = capital - sum(principal for _, _, principal in reduced)
    if left > 0:  # resumption: the rest at the contract rate over ``term`` months from ``end``
        base = len(book.lines)
        resumed = build_schedule(_continuation(terms, left, term, end, terms.annual_rate))
        first = resumed.instalments[0].due_on  # the arrears fall due with it (month ends)
        for line in book.lines:
            if line.deferred_to is not None and line.deferred_to == resume:
                line.deferred_to = first
        for i in resumed.instalments:
            due = {"penalty": 0, "fee": 0, "interest": i.interest.minor}
            due["principal"] = i.principal.minor
            book.lines.append(
                _Line(
                    base + i.number, i.due_on, due, scheduled=i.interest.minor + i.principal.minor
                )
            )
    book.status = "rescheduled"


def _check_fields(event: Event, terms: LoanTerms) -> None:
    """Refuse an event whose own fields are out of their domain, naming the field."""
    if isinstance(event, Waiver) and event.component not in COMPONENTS:
        raise InvalidArgumentError(
            "component", expected=f"one of {', '.join(COMPONENTS)}", got=event.component
        )
    if isinstance(event, Prepayment) and event.mode not in PREPAYMENT_MODES:
        raise InvalidArgumentError(
            "mode", expected=f"one of {', '.join(PREPAYMENT_MODES)}", got=event.mode
        )
    if isinstance(event, HardshipPlan):
        _check_plan(event, terms)


def _apply(book: _Book, event: Event) -> None:
    terms = book.terms
    if isinstance(event, Recovery):
        if book.status != "written_off":
            raise InvalidArgumentError(
                "loan", expected="a written-off loan for a recovery", got=book.status
            )
        amount, left = _money(event.amount, terms), book.written_off - book.recovered
        if amount > left:
            most = Money.from_minor(left, terms.principal.currency)
            raise InvalidArgumentError(
                "amount",
                expected=f"at most the written-off amount less earlier recoveries ({most})",
                got=str(event.amount),
            )
        book.recovered += amount
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
        book.pay(amount, event.on)
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
        book.pay(amount, event.on, mode=event.mode)
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
        if not 1 <= event.term <= MAX_REAGE_MONTHS:
            raise InvalidArgumentError(
                "term", expected=f"1 to {MAX_REAGE_MONTHS} months", got=event.term
            )
        book.reschedule(event.on, event.term)
    elif isinstance(event, HardshipPlan):
        _hardship(book, event)
    elif isinstance(event, WriteOff):
        book.release(book.credit)  # the borrower's held money stays theirs: to suspense
        book.credit = 0
        book.written_off = sum(line.unpaid("principal") for line in book.lines)
        book.status = "written_off"
