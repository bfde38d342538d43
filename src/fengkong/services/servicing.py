"""Servicing use cases over the database: book a loan, post a repayment, run end of day.

Each function works inside the caller's ``Session`` (one unit of work): on any error nothing
is written. End of day writes the whole book for a business date in one transaction and
records the date, so a crash leaves the old state and a second run of the date is a no-op.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
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
from fengkong.errors import InvalidArgumentError, NotFoundError
from fengkong.money import Money
from fengkong.servicing.eod import Book, run_eod
from fengkong.servicing.ledger import (
    COMPONENTS,
    Event,
    FeeCharge,
    LoanState,
    Prepayment,
    Recovery,
    Repayment,
    Reschedule,
    Reversal,
    Waiver,
    WriteOff,
    replay,
)
from fengkong.servicing.products import Product
from fengkong.servicing.schedule import LoanTerms, build_schedule
from fengkong.servicing.statement import LegalStatement, legal_statement

__all__ = [
    "EodSummary",
    "book_loan",
    "delinquency_snapshot",
    "import_repayments",
    "loan_id_for",
    "loan_state",
    "loan_statement",
    "post_repayment",
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


def book_loan(session: Session, terms: LoanTerms, *, external_id: str, borrower_id: str) -> int:
    """Book a loan and its schedule; returns the loan's id."""
    if (
        session.scalar(select(LoanRecord.id).where(LoanRecord.external_id == external_id))
        is not None
    ):
        raise InvalidArgumentError(
            "external_id", expected="an id not already booked", got=external_id
        )
    schedule = build_schedule(terms)
    record = LoanRecord(
        external_id=external_id,
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


def loan_id_for(session: Session, external_id: str) -> int:
    """The id of the loan booked under ``external_id``."""
    loan_id = session.scalar(select(LoanRecord.id).where(LoanRecord.external_id == external_id))
    if loan_id is None:
        raise NotFoundError("loan", external_id)
    return loan_id


def _loan(session: Session, loan_id: int) -> LoanRecord:
    record = session.get(LoanRecord, loan_id)
    if record is None:
        raise NotFoundError("loan", loan_id)
    return record


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (Repayment, Reversal, FeeCharge, Waiver, Prepayment, Reschedule, WriteOff, Recovery)
}


def _encode(loan_id: int, event: Event) -> LoanEventRecord:
    values = {f.name: getattr(event, f.name) for f in fields(event)}
    on, key, amount = values.pop("on"), values.pop("key"), values.pop("amount", None)
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


def post_event(session: Session, loan_id: int, event: Event) -> LoanState:
    """Post a ledger event once: the same key and content again is a no-op; anything invalid writes nothing.

    The loan is replayed with the event before anything is written, so the core's checks
    (payoff, settled loans, unknown reversals, reused keys) refuse bad events.
    """
    record = _loan(session, loan_id)
    existing = session.scalar(
        select(LoanEventRecord).where(
            LoanEventRecord.loan_id == loan_id, LoanEventRecord.key == event.key
        )
    )
    if existing is not None:
        if _decode(existing, record.currency) != event:
            raise InvalidArgumentError(
                "key", expected="a key not used by another event of this loan", got=event.key
            )
        return loan_state(session, loan_id, event.on)
    if event.on <= record.last_eod:
        raise InvalidArgumentError(
            "on", expected=f"a date after the last end of day ({record.last_eod})", got=event.on
        )
    state = replay(
        build_schedule(_terms(record)), [*_events(session, loan_id), event], as_of=event.on
    )
    session.add(_encode(loan_id, event))
    session.flush()
    return state


def post_repayment(
    session: Session, loan_id: int, on: dt.date, amount: Money, *, key: str
) -> LoanState:
    """Post a repayment (see :func:`post_event`)."""
    return post_event(session, loan_id, Repayment(on, amount, key=key))


def loan_statement(
    session: Session, loan_id: int, as_of: dt.date, *, jurisdiction: str, lender_type: str
) -> LegalStatement:
    """The legal statement of a booked loan (see :func:`fengkong.servicing.legal_statement`)."""
    return legal_statement(
        loan_state(session, loan_id, as_of), jurisdiction=jurisdiction, lender_type=lender_type
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
    """A product with its own waterfall is serviced by the fold, which reads it per loan."""
    return (
        product.get("allocation") is not None
        or product.get("npa_allocation") is not None
        or product.get("npa_dpd", 90) != 90
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


def run_end_of_day(
    session: Session, business_date: dt.date, *, progress: Callable[[str], None] | None = None
) -> EodSummary:
    """Run end of day for ``business_date`` (catching up any missed days first), in one transaction."""
    if session.get(EodRunRecord, business_date) is not None:
        return EodSummary(business_date, True, 0, 0, 0)
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
    custom = book.loans.filter("custom_allocation")["loan_id"].to_list()
    special = sorted(set(special) | set(custom))
    book = Book(
        book.loans.filter(~pl.col("loan_id").is_in(special)).drop("custom_allocation"),
        book.lines.filter(~pl.col("loan_id").is_in(special)),
    )
    first = book.loans["last_eod"].min()
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
    day = business_date if first is None else cast(dt.date, first) + dt.timedelta(days=1)
    transitions = []
    while day <= business_date:
        say(f"end of day {day}")
        previous = book.loans.select("loan_id", "bucket")
        book = run_eod(
            book, events.filter(pl.col("on") == day).select("loan_id", "amount_fen"), day
        )
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
    changed = pl.concat([*transitions, fold_moves]).sort("day", maintain_order=True)
    for row in changed.iter_rows(named=True):  # in date order: close the open row, open the next
        session.execute(
            update(BucketHistoryRecord)
            .where(
                BucketHistoryRecord.loan_id == row["loan_id"], BucketHistoryRecord.left_on.is_(None)
            )
            .values(left_on=row["day"])
        )
        session.add(
            BucketHistoryRecord(
                loan_id=row["loan_id"], bucket=row["new"], entered_on=row["day"], left_on=None
            )
        )
        session.flush()
    session.execute(update(LoanEventRecord).where(*pending).values(posted_eod=True))
    loans = book.loans.height + len(special)
    session.add(EodRunRecord(business_date=business_date, loans=loans, payments=events.height))
    session.flush()
    return EodSummary(business_date, False, loans, events.height, changed.height)


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


def import_repayments(session: Session, payments: pl.DataFrame) -> int:
    """Post many repayments at once for the next end of day; returns how many were new.

    ``payments``: ``loan_id`` (external id), ``paid_on``, ``amount_fen`` (> 0) and ``key``;
    a key already posted on its loan is skipped (no double posting), an unknown loan or a
    non-positive amount is refused before anything is written. End of day applies them
    (the batch path of :func:`post_repayment`, which replays the loan per posting).
    """
    missing = [c for c in ("loan_id", "paid_on", "amount_fen", "key") if c not in payments.columns]
    if missing:
        raise InvalidArgumentError(
            "payments", expected="loan_id, paid_on, amount_fen, key", got=f"missing {missing}"
        )
    bad = payments.filter(pl.col("amount_fen").is_null() | (pl.col("amount_fen") <= 0))
    if bad.height:
        raise InvalidArgumentError(
            "payments.amount_fen", expected="a positive amount", got=bad["amount_fen"][0]
        )
    ids = dict(session.execute(select(LoanRecord.external_id, LoanRecord.id)).all())
    unknown = sorted(set(payments["loan_id"].to_list()) - set(ids))
    if unknown:
        raise NotFoundError("loan", unknown[0])
    taken: set[tuple[int, str]] = {
        (loan, key)
        for loan, key in session.execute(select(LoanEventRecord.loan_id, LoanEventRecord.key))
    }
    rows = []
    for loan, on, amount, key in payments.select(
        "loan_id", "paid_on", "amount_fen", "key"
    ).iter_rows():
        if (ids[loan], key) in taken:
            continue
        taken.add((ids[loan], key))
        rows.append(
            {
                "loan_id": ids[loan],
                "key": key,
                "kind": "Repayment",
                "on": on,
                "amount_minor": amount,
                "payload": {"currency": "CNY"},
                "posted_eod": False,
            }
        )
    if rows:
        session.execute(insert(LoanEventRecord), rows)
    return len(rows)
