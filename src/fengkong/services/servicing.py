"""Servicing use cases over the database: book a loan, post a repayment, run end of day.

Each function works inside the caller's ``Session`` (one unit of work): on any error nothing
is written. End of day writes the whole book for a business date in one transaction and
records the date, so a crash leaves the old state and a second run of the date is a no-op.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, cast

import polars as pl
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from fengkong.db.models import (
    BucketHistoryRecord,
    EodRunRecord,
    InstalmentRecord,
    LoanEventRecord,
    LoanRecord,
)
from fengkong.errors import InvalidArgumentError, NotFoundError, WorkflowError
from fengkong.money import Money
from fengkong.servicing.eod import Book, payments_in_advance, run_eod
from fengkong.servicing.ledger import (
    COMPONENTS,
    Event,
    FeeCharge,
    HardshipPlan,
    LoanState,
    PayoffQuote,
    Prepayment,
    Recovery,
    Refund,
    Repayment,
    Reschedule,
    Reversal,
    Waiver,
    WriteOff,
    payoff_quote,
    replay,
)
from fengkong.servicing.products import Product
from fengkong.servicing.schedule import LoanTerms, Schedule, build_schedule
from fengkong.servicing.statement import LegalStatement, legal_statement

__all__ = [
    "MAX_AMOUNT_FEN",
    "EodSummary",
    "admit_events",
    "book_loan",
    "check_event",
    "delinquency_snapshot",
    "grant_hardship_plan",
    "import_repayments",
    "loan_id_for",
    "loan_payoff",
    "loan_state",
    "loan_statement",
    "post_event",
    "post_repayment",
    "refund_suspense",
    "run_end_of_day",
    "synthetic_loan_terms",
]

#: The synthetic book's products and the catalogue products that service them.
SYNTH_PRODUCTS = {
    "cash_loan": "cash_loan",
    "small_business": "small_business",
    "consumer_instalment": "consumer_bullet",
    "payday": "payday",
    "flat_fee_instalment": "flat_fee_instalment",
}

_LOAN_STATE = (
    "status",
    "dpd",
    "bucket",
    "npa",
    "npa_contagion",
    "accrued_interest_fen",
    "last_eod",
)
_LINE_STATE = (
    "due_penalty",
    "due_fee",
    "due_interest",
    "due_principal",
    "paid_penalty",
    "paid_fee",
    "paid_interest",
    "paid_principal",
    "late_fee_charged",
)


def _terms(record: LoanRecord) -> LoanTerms:
    fee = (
        Money.from_minor(record.upfront_fee_minor, record.currency)
        if record.upfront_fee_minor is not None
        else None
    )
    return LoanTerms(
        Product.model_validate(record.product),
        Money.from_minor(record.principal_minor, record.currency),
        Decimal(record.rate_ppm) / 1_000_000,
        record.term,
        record.disbursed_on,
        record.first_due_on,
        fee,
    )


def book_loan(
    session: Session,
    terms: LoanTerms,
    *,
    external_id: str,
    borrower_id: str,
    decision_id: str | None = None,
) -> int:
    """Book a loan and its schedule; returns the loan's id. ``decision_id``: the approval it is
    booked from — an approval books one loan (a second booking is a ``WorkflowError``)."""
    if (
        session.scalar(select(LoanRecord.id).where(LoanRecord.external_id == external_id))
        is not None
    ):
        raise InvalidArgumentError(
            "external_id", expected="an id not already booked", got=external_id
        )
    if decision_id is not None:
        booked = session.scalar(
            select(LoanRecord.external_id).where(LoanRecord.decision_id == decision_id)
        )
        if booked is not None:
            raise WorkflowError(
                "book a loan", current="booked", reason=f"the approval already booked {booked}"
            )
    schedule = build_schedule(terms)
    record = LoanRecord(
        external_id=external_id,
        decision_id=decision_id,
        borrower_id=borrower_id,
        product=terms.product.model_dump(mode="json"),
        currency=terms.principal.currency,
        principal_minor=terms.principal.minor,
        upfront_fee_minor=terms.upfront_fee_amount.minor
        if terms.upfront_fee_amount is not None
        else None,
        rate_ppm=int(terms.annual_rate * 1_000_000),
        term=terms.term,
        disbursed_on=terms.disbursed_on,
        first_due_on=terms.first_due_on,
        status="active",
        dpd=0,
        bucket="M0",
        npa=False,
        npa_contagion=False,
        accrued_interest_minor=0,
        last_eod=terms.disbursed_on - dt.timedelta(days=1),
    )
    session.add(record)
    session.flush()
    session.add_all(
        InstalmentRecord(
            loan_id=record.id,
            instalment=i.number,
            due_on=i.due_on,
            due_penalty=0,
            due_fee=i.fee.minor,
            due_interest=i.interest.minor,
            due_principal=i.principal.minor,
            paid_penalty=0,
            paid_fee=0,
            paid_interest=0,
            paid_principal=0,
            late_fee_charged=False,
        )
        for i in schedule.instalments
    )
    session.add(
        BucketHistoryRecord(
            loan_id=record.id, bucket="M0", entered_on=terms.disbursed_on, left_on=None
        )
    )
    return record.id


def loan_id_for(session: Session, external_id: str, *, lock: bool = False) -> int:
    """The id of the loan booked under ``external_id``; ``lock=True`` takes the loan's write
    lock first (before any read of the transaction, as SQLite needs), for a posting."""
    if lock:
        loan_id = session.scalar(
            update(LoanRecord)
            .where(LoanRecord.external_id == external_id)
            .values(last_eod=LoanRecord.last_eod)
            .returning(LoanRecord.id)
        )
    else:
        loan_id = session.scalar(select(LoanRecord.id).where(LoanRecord.external_id == external_id))
    if loan_id is None:
        raise NotFoundError("loan", external_id)
    return int(loan_id)


def _loan(session: Session, loan_id: int) -> LoanRecord:
    record = session.get(LoanRecord, loan_id)
    if record is None:
        raise NotFoundError("loan", loan_id)
    return record


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        Repayment,
        Reversal,
        FeeCharge,
        Waiver,
        Prepayment,
        Reschedule,
        HardshipPlan,
        WriteOff,
        Recovery,
        Refund,
    )
}


def _encode(loan_id: int, event: Event) -> LoanEventRecord:
    values = {f.name: getattr(event, f.name) for f in fields(event)}
    on, key, amount = values.pop("on"), values.pop("key"), values.pop("amount", None)
    values = {k: str(v) if isinstance(v, Decimal) else v for k, v in values.items()}  # exact
    payload = {**values, "currency": amount.currency if amount is not None else None}
    minor = amount.minor if amount is not None else None
    return LoanEventRecord(
        loan_id=loan_id,
        key=key,
        kind=type(event).__name__,
        on=on,
        amount_minor=minor,
        payload=payload,
        posted_eod=False,
    )


def _decode(row: LoanEventRecord, currency: str) -> Event:
    cls = EVENT_TYPES[row.kind]
    kwargs = dict(row.payload)
    money_currency = kwargs.pop("currency", None) or currency
    for name in ("rate", "share"):  # a hardship plan's rates, stored as exact decimal strings
        if isinstance(kwargs.get(name), str):
            kwargs[name] = Decimal(kwargs[name])
    if "amount" in {f.name for f in fields(cls)}:
        kwargs["amount"] = (
            Money.from_minor(row.amount_minor, money_currency)
            if row.amount_minor is not None
            else None
        )
    return cls(on=row.on, key=row.key, **kwargs)


def _events(session: Session, loan_id: int) -> list[Event]:
    record = _loan(session, loan_id)
    rows = session.scalars(
        select(LoanEventRecord)
        .where(LoanEventRecord.loan_id == loan_id)
        .order_by(LoanEventRecord.id)
    )
    return [_decode(row, record.currency) for row in rows]


def loan_state(session: Session, loan_id: int, as_of: dt.date) -> LoanState:
    """The loan replayed from its contract and event log to ``as_of``."""
    record = _loan(session, loan_id)
    return replay(build_schedule(_terms(record)), _events(session, loan_id), as_of=as_of)


def loan_payoff(session: Session, loan_id: int, on: dt.date) -> PayoffQuote:
    """What settles the loan on ``on`` (see :func:`fengkong.servicing.ledger.payoff_quote`)."""
    record = _loan(session, loan_id)
    return payoff_quote(build_schedule(_terms(record)), _events(session, loan_id), on=on)


#: The most one payment may carry, in fen (CNY 10 billion): a hostile or fat-fingered amount is
#: refused, and sums of millions of payments stay inside 64-bit integers.
MAX_AMOUNT_FEN = 10**12
_ONE_DAY = dt.timedelta(days=1)


def _named(names: Mapping[str, str] | None, field: str) -> str:
    return (names or {}).get(field, field)


def check_event(
    record: LoanRecord,
    event: Event,
    *,
    business_date: dt.date,
    names: Mapping[str, str] | None = None,
) -> None:
    """The field checks of the one door every event of a booked loan passes (see :func:`admit_events`).

    The date must fall after the loan's last end of day (a date on or before it is refused, never
    back-valued: a correction is a reversal and a new payment dated in the open window), on or
    after disbursement, and on or before ``business_date`` (the caller's clock: the service's
    business day); an amount must be in the loan's currency, positive and at most
    :data:`MAX_AMOUNT_FEN`. ``names`` maps the core's field names (``on``, ``amount``,
    ``currency``, ``key``, ``loan``) to the caller's (``paid_on``, ``amount_fen``...).

    >>> import datetime as dt
    >>> from fengkong.db.models import LoanRecord
    >>> loan = LoanRecord(currency="CNY", disbursed_on=dt.date(2026, 1, 5), last_eod=dt.date(2026, 2, 1))
    >>> check_event(loan, Repayment(dt.date(2031, 1, 1), Money.of("10"), key="p"),
    ...             business_date=dt.date(2026, 2, 3), names={"on": "paid_on"})
    Traceback (most recent call last):
    ...
    fengkong.errors.InvalidArgumentError: paid_on: expected a date on or before the business date 2026-02-03, got datetime.date(2031, 1, 1)
    """
    on = event.on
    if on <= record.last_eod:
        raise InvalidArgumentError(
            _named(names, "on"),
            expected=f"a date after the last end of day {record.last_eod} (back-dated postings are refused)",
            got=on,
        )
    if on < record.disbursed_on:
        raise InvalidArgumentError(
            _named(names, "on"),
            expected=f"a date on or after disbursement {record.disbursed_on}",
            got=on,
        )
    if on > business_date:
        raise InvalidArgumentError(
            _named(names, "on"),
            expected=f"a date on or before the business date {business_date}",
            got=on,
        )
    if not 1 <= len(event.key) <= 128:
        raise InvalidArgumentError(
            _named(names, "key"), expected="a key of 1 to 128 characters", got=event.key
        )
    amount = getattr(event, "amount", None)
    if amount is None:
        return
    if amount.currency != record.currency:
        raise InvalidArgumentError(
            _named(names, "currency"),
            expected=f"the loan's currency {record.currency}",
            got=amount.currency,
        )
    if not 0 < amount.minor <= MAX_AMOUNT_FEN:
        raise InvalidArgumentError(
            _named(names, "amount"),
            expected=f"a positive amount of at most {MAX_AMOUNT_FEN} fen",
            got=amount.minor,
        )


def _replay_whole(schedule: Schedule, stream: Sequence[Event]) -> LoanState:
    """Replay the whole log, and as of the eve of every reversal (a reversal removes its payment
    only from its own date on, so each span between reversals must replay on its own)."""
    last = max((e.on for e in stream), default=schedule.terms.disbursed_on)
    eves = {
        e.on - _ONE_DAY
        for e in stream
        if isinstance(e, Reversal) and e.on > schedule.terms.disbursed_on
    }
    for day in sorted(eves - {last}):
        replay(schedule, stream, as_of=day)
    return replay(schedule, stream, as_of=last)


def admit_events(
    record: LoanRecord,
    posted: Sequence[Event],
    new: Sequence[Event],
    *,
    business_date: dt.date,
    names: Mapping[str, str] | None = None,
) -> LoanState:
    """The one door: check ``new`` events of a loan against its ``posted`` log; raises, writes nothing.

    Every payment source (the API, the CLI, the file import) passes here, and end of day only
    applies what passed. Each event's fields pass :func:`check_event`; then the loan is replayed
    with the new events over its whole log, so the core refuses reused keys, unknown reversals
    or reversals dated before their payment, recoveries above the written-off amount, refunds
    above the suspense balance and payments on a written-off loan. A payment above the payoff
    is accepted: the excess is held in suspense (``LoanState.suspense``) until a
    :class:`~fengkong.servicing.ledger.Refund`. A payment on a loan with nothing left to pay
    (settled) is refused. Returns the state as of the latest new event's date.

    >>> import datetime as dt
    >>> from decimal import Decimal
    >>> from fengkong.db.models import LoanRecord
    >>> from fengkong.servicing import load_products
    >>> loan = LoanRecord(product=load_products()["cash_loan"].model_dump(mode="json"), currency="CNY",
    ...     principal_minor=120_000, upfront_fee_minor=None, rate_ppm=0, term=3,
    ...     disbursed_on=dt.date(2026, 1, 5), first_due_on=None, last_eod=dt.date(2026, 1, 4))
    >>> state = admit_events(loan, [], [Repayment(dt.date(2026, 1, 9), Money.of("1500"), key="p1")],
    ...                      business_date=dt.date(2026, 1, 9))
    >>> state.status, str(state.suspense)
    ('settled', 'CNY 300.00')
    """
    if not new:
        raise InvalidArgumentError("events", expected="at least one event", got=[])
    for event in new:
        check_event(record, event, business_date=business_date, names=names)
    try:
        final = _replay_whole(build_schedule(_terms(record)), [*posted, *new])
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(
            _named(names, exc.field), expected=exc.expected, got=exc.got
        ) from None
    held = dict(final.unapplied)
    for event in new:
        amount = getattr(event, "amount", None)
        whole = amount is not None and held.get(event.key) == amount.minor
        if isinstance(event, Repayment | Prepayment) and whole:
            raise InvalidArgumentError(
                _named(names, "loan"),
                expected=f"a loan with something left to pay on {event.on}",
                got="settled",
            )
    last = max(e.on for e in new)
    return replay(build_schedule(_terms(record)), [*posted, *new], as_of=last)


def _lock(session: Session, loan_id: int) -> LoanRecord:
    """Take the loan's write lock first (a no-op update): postings on one loan run one at a
    time, on SQLite and PostgreSQL, so two simultaneous requests see each other's events."""
    session.execute(
        update(LoanRecord).where(LoanRecord.id == loan_id).values(last_eod=LoanRecord.last_eod)
    )
    return _loan(session, loan_id)


def post_event(
    session: Session,
    loan_id: int,
    event: Event,
    *,
    business_date: dt.date,
    names: Mapping[str, str] | None = None,
) -> LoanState:
    """Post a ledger event once: the same key and content again is a no-op; anything invalid writes nothing.

    The event goes through :func:`admit_events` (the one door) with the loan locked for the
    transaction; ``business_date`` is the caller's business day (its clock): later dates are
    refused.
    """
    record = _lock(session, loan_id)
    existing = session.scalar(
        select(LoanEventRecord).where(
            LoanEventRecord.loan_id == loan_id, LoanEventRecord.key == event.key
        )
    )
    if existing is not None:
        if _decode(existing, record.currency) != event:
            raise InvalidArgumentError(
                _named(names, "key"),
                expected="a key not used by another event of this loan",
                got=event.key,
            )
        return loan_state(session, loan_id, event.on)
    state = admit_events(
        record, _events(session, loan_id), [event], business_date=business_date, names=names
    )
    session.add(_encode(loan_id, event))
    session.flush()
    return state


def _amount(session: Session, loan_id: int, amount: Money | int) -> Money:
    """An amount as sent: ``Money``, or integer fen in the loan's own currency (read under the
    loan's lock: the posting's first statement is its write)."""
    record = _lock(session, loan_id)
    return amount if isinstance(amount, Money) else Money.from_minor(amount, record.currency)


def post_repayment(
    session: Session,
    loan_id: int,
    on: dt.date,
    amount: Money | int,
    *,
    key: str,
    business_date: dt.date,
    names: Mapping[str, str] | None = None,
) -> LoanState:
    """Post a repayment (see :func:`post_event`); above the payoff, the excess goes to suspense.

    ``amount`` is ``Money`` (its currency must be the loan's) or integer fen in the loan's currency.
    """
    event = Repayment(on, _amount(session, loan_id, amount), key=key)
    return post_event(session, loan_id, event, business_date=business_date, names=names)


def refund_suspense(
    session: Session,
    loan_id: int,
    on: dt.date,
    amount: Money | int,
    *,
    key: str,
    business_date: dt.date,
    names: Mapping[str, str] | None = None,
) -> LoanState:
    """Pay money held in suspense back to the borrower (a :class:`Refund` event, see :func:`post_event`)."""
    event = Refund(on, _amount(session, loan_id, amount), key=key)
    return post_event(session, loan_id, event, business_date=business_date, names=names)


def grant_hardship_plan(
    session: Session,
    loan_id: int,
    on: dt.date,
    *,
    months: int,
    key: str,
    business_date: dt.date,
    rate: Decimal = Decimal(0),
    share: Decimal = Decimal("0.5"),
    term: int | None = None,
    names: Mapping[str, str] | None = None,
) -> LoanState:
    """Grant a hardship plan (a :class:`HardshipPlan` event, see :func:`post_event`).

    The plan passes the same door as a payment: dated after the last end of day and on or before
    ``business_date``; the core then refuses what the product's re-age policy does not allow
    (too many re-ages, too few qualifying payments), a rate above the contract's, a share outside
    0..1 and a loan that is settled or written off. The same key and plan again is a no-op.
    """
    _lock(session, loan_id)
    event = HardshipPlan(on, months, key=key, rate=rate, share=share, term=term)
    return post_event(session, loan_id, event, business_date=business_date, names=names)


def loan_statement(
    session: Session,
    loan_id: int,
    as_of: dt.date,
    *,
    jurisdiction: str,
    lender_type: str,
    filed_on: dt.date | None = None,
) -> LegalStatement:
    """The legal statement of a booked loan (see :func:`fengkong.servicing.legal_statement`)."""
    return legal_statement(
        loan_state(session, loan_id, as_of),
        jurisdiction=jurisdiction,
        lender_type=lender_type,
        filed_on=filed_on,
    )


@dataclass(frozen=True, slots=True)
class EodSummary:
    business_date: dt.date
    already_done: bool
    loans: int
    payments: int
    bucket_changes: int


def first_pending_day(session: Session) -> dt.date | None:
    """The first business date some loan still needs (``None`` for an empty book)."""
    last = session.scalar(select(func.min(LoanRecord.last_eod)))
    return None if last is None else last + dt.timedelta(days=1)


def _custom_allocation(product: dict[str, object]) -> bool:
    """A product with its own waterfall, a held credit for payments in advance or an agreed
    prepayment fee is serviced by the fold, which reads it per loan."""
    return (
        product.get("allocation") is not None
        or product.get("npa_allocation") is not None
        or product.get("npa_dpd", 90) != 90
        or product.get("in_advance", "reduce_principal") != "reduce_principal"
        or Decimal(str(product.get("prepayment_fee_rate") or 0)) != 0
    )


def _load(session: Session) -> Book:
    connection = session.connection()
    loans = pl.read_database(
        select(
            LoanRecord.id.label("loan_id"),
            LoanRecord.borrower_id,
            LoanRecord.disbursed_on,
            LoanRecord.rate_ppm,
            LoanRecord.product,
            LoanRecord.status,
            LoanRecord.dpd,
            LoanRecord.bucket,
            LoanRecord.npa,
            LoanRecord.npa_contagion,
            LoanRecord.accrued_interest_minor.label("accrued_interest_fen"),
            LoanRecord.last_eod,
        ),
        connection,
        schema_overrides={
            "loan_id": pl.Int64,
            "rate_ppm": pl.Int64,
            "accrued_interest_fen": pl.Int64,
            "dpd": pl.Int32,
            "disbursed_on": pl.Date,
            "last_eod": pl.Date,
        },
    )
    products = loans["product"].to_list()
    loans = loans.drop("product").with_columns(
        pl.Series(
            "penalty_multiplier_ppm",
            [int(Decimal(str(p["penalty_rate_multiplier"])) * 1_000_000) for p in products],
            dtype=pl.Int64,
        ),
        pl.Series("late_fee_fen", [int(p["late_fee_fen"]) for p in products], dtype=pl.Int64),
        pl.Series("grace_days", [int(p["grace_days"]) for p in products], dtype=pl.Int64),
        pl.Series("custom_allocation", [_custom_allocation(p) for p in products], dtype=pl.Boolean),
    )
    lines = pl.read_database(
        select(
            InstalmentRecord.loan_id,
            InstalmentRecord.instalment,
            InstalmentRecord.due_on,
            *(getattr(InstalmentRecord, c) for c in _LINE_STATE),
        ),
        connection,
        schema_overrides={
            "loan_id": pl.Int64,
            "instalment": pl.Int64,
            "due_on": pl.Date,
            **{c: pl.Int64 for c in _LINE_STATE[:-1]},
            "late_fee_charged": pl.Boolean,
        },
    )
    order = [
        "loan_id",
        "borrower_id",
        "disbursed_on",
        "rate_ppm",
        "penalty_multiplier_ppm",
        "late_fee_fen",
        "grace_days",
        *_LOAN_STATE,
        "custom_allocation",
    ]
    return Book(loans.select(order), lines.sort("loan_id", "instalment"))


def _fold_path(
    session: Session, loan_ids: list[int], business_date: dt.date
) -> tuple[list[dict[str, object]], pl.DataFrame]:
    """Loans with events beyond repayments (reversals, prepayments, re-ages...) are serviced by
    the per-loan fold, the reference the vectorised engine is proven against; their instalment
    rows are rewritten from it (a re-age changes their number)."""
    states: list[dict[str, object]] = []
    transitions: list[dict[str, object]] = []
    for loan_id in loan_ids:
        record = _loan(session, loan_id)
        schedule, events = build_schedule(_terms(record)), _events(session, loan_id)
        bucket, day = record.bucket, record.last_eod + dt.timedelta(days=1)
        while day <= business_date:
            state = replay(schedule, events, as_of=day)
            if state.bucket != bucket:
                transitions.append({"loan_id": loan_id, "new": state.bucket, "day": day})
                bucket = state.bucket
            day += dt.timedelta(days=1)
        state = replay(schedule, events, as_of=business_date)
        states.append(
            {
                "id": loan_id,
                "status": state.status,
                "dpd": state.dpd,
                "bucket": state.bucket,
                "npa": state.npa,
                "accrued_interest_minor": state.accrued_interest.minor,
                "suspense_minor": state.suspense_fen,
                "last_eod": business_date,
            }
        )
        session.execute(delete(InstalmentRecord).where(InstalmentRecord.loan_id == loan_id))
        session.add_all(
            InstalmentRecord(
                loan_id=loan_id,
                instalment=i.number,
                due_on=i.due_on,
                **{f"due_{c}": i.due[c] for c in COMPONENTS},
                **{f"paid_{c}": i.paid[c] for c in COMPONENTS},
                late_fee_charged=i.late_fee_charged,
            )
            for i in state.instalments
        )
    schema = {"loan_id": pl.Int64, "new": pl.String, "day": pl.Date}
    return states, pl.DataFrame(transitions, schema=schema)


def _check_business_date(session: Session, business_date: dt.date, today: dt.date | None) -> None:
    """End of day runs forward only: never for a date before the last run (no rewind), never
    for a date after the caller's clock (``today``)."""
    if today is not None and business_date > today:
        raise InvalidArgumentError(
            "business_date", expected=f"a date on or before today ({today})", got=business_date
        )
    last_run = session.scalar(select(func.max(EodRunRecord.business_date)))
    if last_run is not None and business_date < last_run:
        raise InvalidArgumentError(
            "business_date",
            expected=f"a date after the last end of day {last_run} (a past day is never rerun)",
            got=business_date,
        )


def _needs_fold(book: Book, payments: pl.DataFrame) -> list[int]:
    """Loans whose pending repayments the vectorised engine cannot take: more than the unpaid
    principal (some may go above the payoff, to suspense) or dated on or before the loan's last
    end of day (a legacy back-dated posting: the fold replays it)."""
    unpaid = book.lines.group_by("loan_id").agg(
        (pl.col("due_principal") - pl.col("paid_principal")).sum().alias("unpaid")
    )
    totals = payments.group_by("loan_id").agg(pl.col("amount_fen").sum().alias("paid"))
    over = totals.join(unpaid, on="loan_id", how="left").filter(
        pl.col("paid") > pl.col("unpaid").fill_null(0)
    )
    late = payments.join(book.loans.select("loan_id", "last_eod"), on="loan_id").filter(
        pl.col("on") <= pl.col("last_eod")
    )
    return sorted(set(over["loan_id"].to_list()) | set(late["loan_id"].to_list()))


def run_end_of_day(
    session: Session,
    business_date: dt.date,
    *,
    today: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
) -> EodSummary:
    """Run end of day for ``business_date`` (catching up any missed days first), in one transaction.

    The same date again is a no-op; a date before the last run is refused (never a rewind), as
    is one after ``today`` (the caller's clock; the CLI passes its own). A loan already at or
    past ``business_date`` (booked with a later disbursement) is left as it is. Loans with
    events beyond plain repayments, or whose payments may exceed the payoff (suspense), are
    serviced by the per-loan fold.
    """
    if session.get(EodRunRecord, business_date) is not None:
        return EodSummary(business_date, True, 0, 0, 0)
    _check_business_date(session, business_date, today)
    say = progress or (lambda _stage: None)
    say("loading the book")
    special = sorted(
        set(
            session.scalars(
                select(LoanEventRecord.loan_id).where(LoanEventRecord.kind != "Repayment")
            )
        )
    )
    book = _load(session)
    live = book.loans.filter(pl.col("last_eod") < business_date)  # never rewind a loan
    book = Book(live, book.lines.filter(pl.col("loan_id").is_in(live["loan_id"].to_list())))
    pending = (LoanEventRecord.posted_eod.is_(False), LoanEventRecord.on <= business_date)
    events = pl.read_database(
        select(
            LoanEventRecord.loan_id,
            LoanEventRecord.on,
            LoanEventRecord.amount_minor.label("amount_fen"),
        ).where(LoanEventRecord.kind == "Repayment", *pending),
        session.connection(),
        schema_overrides={"loan_id": pl.Int64, "on": pl.Date, "amount_fen": pl.Int64},
    )
    custom = book.loans.filter("custom_allocation")["loan_id"].to_list()
    in_book = set(book.loans["loan_id"].to_list())
    special = sorted((set(special) | set(custom) | set(_needs_fold(book, events))) & in_book)
    book = Book(
        book.loans.filter(~pl.col("loan_id").is_in(special)).drop("custom_allocation"),
        book.lines.filter(~pl.col("loan_id").is_in(special)),
    )
    first = book.loans["last_eod"].min()
    day = business_date if first is None else cast(dt.date, first) + dt.timedelta(days=1)
    transitions = []
    while day <= business_date:
        say(f"end of day {day}")
        todays = events.filter(pl.col("on") == day).select("loan_id", "amount_fen")
        ahead = payments_in_advance(book, todays, day).to_list()
        if ahead:  # payments in advance re-amortise (Civil Code art. 677): the fold does them
            special = sorted(set(special) | set(ahead))
            book = Book(
                book.loans.filter(~pl.col("loan_id").is_in(ahead)),
                book.lines.filter(~pl.col("loan_id").is_in(ahead)),
            )
            todays = todays.filter(~pl.col("loan_id").is_in(ahead))
        previous = book.loans.select("loan_id", "bucket")
        book = run_eod(book, todays, day)
        moved = previous.join(
            book.loans.select("loan_id", pl.col("bucket").alias("new")), on="loan_id"
        )
        transitions.append(
            moved.filter(pl.col("bucket") != pl.col("new")).select(
                "loan_id", "new", pl.lit(day).alias("day")
            )
        )
        day += dt.timedelta(days=1)

    say("writing the book")
    folded, fold_moves = _fold_path(session, special, business_date)
    loan_rows = (
        book.loans.select(pl.col("loan_id").alias("id"), *_LOAN_STATE)
        .drop("npa_contagion")
        .rename({"accrued_interest_fen": "accrued_interest_minor"})
        .to_dicts()
        + folded
    )
    if loan_rows:
        session.execute(update(LoanRecord), loan_rows)
    line_rows = book.lines.select("loan_id", "instalment", *_LINE_STATE).to_dicts()
    if line_rows:
        session.execute(update(InstalmentRecord), line_rows)
    # NPA contagion across each borrower's loans, over the whole book.
    npa_borrowers = select(LoanRecord.borrower_id).where(LoanRecord.npa.is_(True))
    session.execute(
        update(LoanRecord).values(npa_contagion=LoanRecord.borrower_id.in_(npa_borrowers))
    )
    vectorised = pl.concat(transitions) if transitions else fold_moves.clear()
    vectorised = vectorised.filter(~pl.col("loan_id").is_in(special))  # moved to the fold midway
    changed = pl.concat([vectorised, fold_moves]).sort("day", maintain_order=True)
    _write_bucket_history(session, changed)
    session.execute(
        update(LoanEventRecord)
        .where(
            *pending,
            LoanEventRecord.loan_id.in_(
                select(LoanRecord.id).where(LoanRecord.last_eod == business_date)
            ),
        )
        .values(posted_eod=True)
    )
    loans = book.loans.height + len(special)
    session.add(EodRunRecord(business_date=business_date, loans=loans, payments=events.height))
    session.flush()
    return EodSummary(business_date, False, loans, events.height, changed.height)


def _write_bucket_history(session: Session, changed: pl.DataFrame) -> None:
    """Close each loan's open bucket row and open the next, per transition in date order.

    History stays consistent (entered ≤ left, one row per loan and entry day, one open row per
    loan; constraints in the database too): a change on the day the open row was entered
    replaces its bucket, and a transition dated before the open row's entry is refused.
    """
    if changed.is_empty():
        return
    loan_ids = changed["loan_id"].unique().to_list()
    open_rows: dict[int, BucketHistoryRecord] = {}
    for start in range(0, len(loan_ids), 10_000):
        chunk = loan_ids[start : start + 10_000]
        for found in session.scalars(
            select(BucketHistoryRecord).where(
                BucketHistoryRecord.loan_id.in_(chunk), BucketHistoryRecord.left_on.is_(None)
            )
        ):
            open_rows[found.loan_id] = found
    updates: dict[int, dict[str, object]] = {}
    new_rows: dict[int, list[dict[str, object]]] = {}
    for loan_id, bucket, day in changed.select("loan_id", "new", "day").iter_rows():
        chain = new_rows.setdefault(loan_id, [])
        current = chain[-1] if chain else None
        if current is None:
            row = open_rows.get(loan_id)
            if row is not None and day < row.entered_on:
                raise InvalidArgumentError(
                    "business_date",
                    expected=f"a bucket change on or after {row.entered_on} (loan {loan_id})",
                    got=day,
                )
            if row is not None and day == row.entered_on:
                updates.setdefault(row.id, {"id": row.id})["bucket"] = bucket
                continue
            if row is not None:
                updates.setdefault(row.id, {"id": row.id})["left_on"] = day
        elif day == current["entered_on"]:
            current["bucket"] = bucket
            continue
        else:
            current["left_on"] = day
        chain.append({"loan_id": loan_id, "bucket": bucket, "entered_on": day, "left_on": None})
    if updates:
        session.execute(update(BucketHistoryRecord), list(updates.values()))
    rows = [row for chain in new_rows.values() for row in chain]
    if rows:
        session.execute(insert(BucketHistoryRecord), rows)
    session.flush()


def _reaged_overdue(session: Session, as_of: dt.date) -> pl.DataFrame:
    """``loan_id, fold_overdue_fen`` of the re-aged loans (rare): the instalment rows keep each
    line's own due date, while the arrears a re-age deferred are overdue only from the date they
    were moved to, so their overdue amount is the fold's (each line from its ``due_date``)."""
    reaged = sorted(
        set(
            session.scalars(
                select(LoanEventRecord.loan_id).where(
                    LoanEventRecord.kind.in_(("Reschedule", "HardshipPlan")),
                    LoanEventRecord.on <= as_of,
                )
            )
        )
    )
    rows = []
    for loan_id in reaged:
        lines = loan_state(session, loan_id, as_of).instalments
        rows.append((loan_id, sum(i.unpaid for i in lines if i.due_date < as_of)))
    return pl.DataFrame(
        rows, schema={"loan_id": pl.Int64, "fold_overdue_fen": pl.Int64}, orient="row"
    )


def delinquency_snapshot(session: Session, as_of: dt.date) -> pl.DataFrame:
    """Every loan after end of day: ``loan_id, borrower_id, dpd, overdue_fen, balance_fen,
    status`` (what :func:`fengkong.collections.update_cases` reads). Overdue counts every
    component fallen due before ``as_of`` and unpaid; the balance is the unpaid principal."""
    connection = session.connection()
    loans = pl.read_database(
        select(
            LoanRecord.id.label("loan_id"),
            LoanRecord.borrower_id,
            LoanRecord.dpd,
            LoanRecord.status,
        ),
        connection,
        schema_overrides={"loan_id": pl.Int64, "dpd": pl.Int64},
    )
    due = sum(
        getattr(InstalmentRecord, f"due_{c}") for c in ("penalty", "fee", "interest", "principal")
    )
    paid = sum(
        getattr(InstalmentRecord, f"paid_{c}") for c in ("penalty", "fee", "interest", "principal")
    )
    lines = pl.read_database(
        select(
            InstalmentRecord.loan_id,
            InstalmentRecord.due_on,
            (due - paid).label("unpaid"),
            (InstalmentRecord.due_principal - InstalmentRecord.paid_principal).label("principal"),
        ),
        connection,
        schema_overrides={
            "loan_id": pl.Int64,
            "due_on": pl.Date,
            "unpaid": pl.Int64,
            "principal": pl.Int64,
        },
    )
    per_loan = lines.group_by("loan_id").agg(
        pl.col("unpaid").filter(pl.col("due_on") < as_of).sum().alias("overdue_fen"),
        pl.col("principal").sum().alias("balance_fen"),
    )
    deferred = _reaged_overdue(session, as_of)
    if not deferred.is_empty():  # a re-age defers arrears the rows cannot show: the fold's word
        per_loan = (
            per_loan.join(deferred, on="loan_id", how="left")
            .with_columns(pl.coalesce("fold_overdue_fen", "overdue_fen").alias("overdue_fen"))
            .drop("fold_overdue_fen")
        )
    return loans.join(per_loan, on="loan_id", how="left").select(
        "loan_id",
        "borrower_id",
        "dpd",
        pl.col("overdue_fen").fill_null(0),
        pl.col("balance_fen").fill_null(0),
        "status",
    )


def synthetic_loan_terms(row: Mapping[str, Any], catalogue: Mapping[str, Product]) -> LoanTerms:
    """The contract of a synthetic book's loan (``fengkong synth``) under the catalogue
    product that services it (``SYNTH_PRODUCTS``; a flat-fee loan's rate becomes its
    monthly fee)."""
    product = catalogue[SYNTH_PRODUCTS[row["product"]]]
    rate = Decimal(row["rate_bp"]) / 10_000
    if product.method == "flat_fee":
        product = product.model_copy(update={"instalment_fee_rate": rate / 100})
        rate = Decimal(0)
    product = product.model_copy(
        update={"min_term": 1, "max_term": max(product.max_term, row["term"])}
    )
    return LoanTerms(
        product, Money.from_minor(row["principal_fen"]), rate, row["term"], row["disbursed_on"]
    )


_IMPORT_COLUMNS = {
    "loan_id": pl.String,
    "paid_on": pl.Date,
    "amount_fen": pl.Int64,
    "key": pl.String,
}


def _import_frame(payments: pl.DataFrame) -> pl.DataFrame:
    """The import file's columns, typed and complete, or an error naming the first bad one."""
    missing = [c for c in _IMPORT_COLUMNS if c not in payments.columns]
    if missing:
        raise InvalidArgumentError(
            "payments",
            expected="columns loan_id, paid_on, amount_fen, key",
            got=f"missing {missing}",
        )
    for column, dtype in _IMPORT_COLUMNS.items():
        got = payments.schema[column]
        integral = column == "amount_fen" and got.is_integer()
        if got != dtype and not integral:
            raise InvalidArgumentError(
                f"payments.{column}", expected=f"a column of {dtype}", got=str(got)
            )
        nulls = payments[column].is_null()
        if nulls.any():
            row = int(nulls.arg_max() or 0)
            raise InvalidArgumentError(f"payments[{row}].{column}", expected="a value", got=None)
    if "currency" in payments.columns and payments.schema["currency"] != pl.String:
        raise InvalidArgumentError(
            "payments.currency", expected="a column of String", got=str(payments.schema["currency"])
        )
    extra = sorted(set(payments.columns) - {*_IMPORT_COLUMNS, "currency"})
    if extra:
        raise InvalidArgumentError(
            "payments", expected="only loan_id, paid_on, amount_fen, key, currency", got=extra
        )
    return payments


def import_repayments(session: Session, payments: pl.DataFrame, *, business_date: dt.date) -> int:
    """Post many repayments at once, for the next end of day; returns how many were new.

    ``payments``: ``loan_id`` (external id), ``paid_on``, ``amount_fen`` (integer fen) and
    ``key``, optionally ``currency`` (default: each loan's own). Every row passes the same door
    as :func:`post_repayment` (:func:`admit_events`): dates after the loan's last end of day and
    on or before ``business_date``, the loan's currency, positive amounts, a loan with something
    left to pay; above the payoff the excess goes to suspense. A key already posted on its loan
    with the same content is skipped (no double posting); a key reused for another payment, an
    unknown loan or any bad row refuses the whole file, naming the row and field, and writes
    nothing.

    >>> import datetime as dt
    >>> import polars as pl
    >>> from fengkong.db import make_engine, migrate, session_factory
    >>> from fengkong.servicing import LoanTerms, load_products
    >>> engine = make_engine("sqlite:///:memory:"); migrate(engine)
    >>> with session_factory(engine).begin() as s:
    ...     terms = LoanTerms(load_products()["cash_loan"], Money.of("1200"), Decimal("0.12"), 3, dt.date(2026, 1, 5))
    ...     _ = book_loan(s, terms, external_id="L1", borrower_id="B1")
    ...     frame = pl.DataFrame({"loan_id": ["L1"], "paid_on": [dt.date(2026, 2, 5)],
    ...                           "amount_fen": [40_803], "key": ["p1"]})
    ...     import_repayments(s, frame, business_date=dt.date(2026, 2, 5))
    1
    """
    payments = _import_frame(payments)
    ids = {
        external: loan_id
        for external, loan_id in session.execute(select(LoanRecord.external_id, LoanRecord.id))
    }
    wanted: dict[int, list[tuple[int, Repayment]]] = {}
    currencies = (
        payments["currency"].to_list()
        if "currency" in payments.columns
        else [None] * payments.height
    )
    records = {}
    for row, (external, on, fen, key) in enumerate(payments.select(*_IMPORT_COLUMNS).iter_rows()):
        if external not in ids:
            raise NotFoundError("loan", external)
        loan_id = ids[external]
        if loan_id not in records:
            records[loan_id] = _loan(session, loan_id)
        currency = currencies[row] or records[loan_id].currency
        if not 0 < fen <= MAX_AMOUNT_FEN:
            raise InvalidArgumentError(
                f"payments[{row}].amount_fen",
                expected=f"a positive amount of at most {MAX_AMOUNT_FEN} fen",
                got=fen,
            )
        if not isinstance(currency, str) or len(currency) != 3:
            raise InvalidArgumentError(
                f"payments[{row}].currency", expected="an ISO currency code", got=currency
            )
        event = Repayment(on, Money.from_minor(fen, currency), key=key)
        wanted.setdefault(loan_id, []).append((row, event))
    return _post_imported(session, records, wanted, business_date=business_date)


def _post_imported(
    session: Session,
    records: Mapping[int, LoanRecord],
    wanted: Mapping[int, list[tuple[int, Repayment]]],
    *,
    business_date: dt.date,
) -> int:
    rows: list[dict[str, object]] = []
    for loan_id, items in wanted.items():
        record = _lock(session, loan_id)
        posted = _events(session, loan_id)
        by_key: dict[str, Event] = {e.key: e for e in posted}
        new: list[Repayment] = []
        for row, event in items:
            names = {f: f"payments[{row}].{c}" for f, c in _IMPORT_NAMES.items()}
            if event.key in by_key:
                if by_key[event.key] != event:
                    raise InvalidArgumentError(
                        names["key"],
                        expected=f"a key not used by another event of loan {record.external_id}",
                        got=event.key,
                    )
                continue  # already posted, or twice in the file: once
            check_event(record, event, business_date=business_date, names=names)
            by_key[event.key] = event
            new.append(event)
        if not new:
            continue
        loan_names = {
            f: f"payments[loan_id={record.external_id}].{c}" for f, c in _IMPORT_NAMES.items()
        }
        admit_events(record, posted, new, business_date=business_date, names=loan_names)
        rows.extend(
            {
                "loan_id": loan_id,
                "key": e.key,
                "kind": "Repayment",
                "on": e.on,
                "amount_minor": e.amount.minor,
                "payload": {"currency": e.amount.currency},
                "posted_eod": False,
            }
            for e in new
        )
    if rows:
        session.execute(insert(LoanEventRecord), rows)
    return len(rows)


_IMPORT_NAMES = {
    "on": "paid_on",
    "amount": "amount_fen",
    "currency": "currency",
    "key": "key",
    "loan": "loan_id",
}
