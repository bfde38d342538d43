"""Round 3 attacks on the servicing door and end of day over the database: each test fails on the
code it was written against, for a real defect; the comment says what was expected and why."""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.pool import StaticPool

from fengkong.db import Base, LoanRecord, make_engine, session_factory
from fengkong.db.models import BucketHistoryRecord
from fengkong.errors import InvalidArgumentError
from fengkong.money import Money
from fengkong.services import servicing as svc
from fengkong.servicing import LoanTerms, load_products
from fengkong.servicing.ledger import Reschedule, Reversal

CATALOGUE = load_products()


@pytest.fixture
def sessions():
    engine = make_engine("sqlite:///:memory:", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    yield session_factory(engine)
    engine.dispose()


def test_a_reversal_dated_before_the_last_end_of_day_is_refused_on_a_settled_loan(sessions):
    # check_event: "The date must fall after the loan's last end of day ... never back-valued".
    # A loan paid off on 2026-01-20 stops being advanced by end of day (its ``last_eod`` stays
    # 2026-01-20) while end of day runs on to 2026-03-31. A reversal of the payoff dated
    # 2026-02-01 — two months inside days already closed — is then accepted, and the next end
    # of day rewrites the loan's bucket history from 2026-02-06 on (M0 -> M1 -> M2 in the
    # past). Expected: refused (the book's last end of day is 2026-03-31), like any back-dated
    # posting on a live loan.
    terms = LoanTerms(
        CATALOGUE["cash_loan"], Money.of("1200"), Decimal("0.12"), 3, dt.date(2026, 1, 5)
    )
    with sessions.begin() as s:
        loan_id = svc.book_loan(s, terms, external_id="L1", borrower_id="B1")
        quote = svc.loan_payoff(s, loan_id, dt.date(2026, 1, 20))
        svc.post_repayment(
            s,
            loan_id,
            dt.date(2026, 1, 20),
            quote.total,
            key="p",
            business_date=dt.date(2026, 1, 20),
        )
    for day in (dt.date(2026, 1, 20), dt.date(2026, 3, 31)):
        with sessions.begin() as s:
            svc.run_end_of_day(s, day)
    with sessions.begin() as s, pytest.raises(InvalidArgumentError):
        svc.post_event(
            s,
            loan_id,
            Reversal(dt.date(2026, 2, 1), "p", key="rev"),
            business_date=dt.date(2026, 4, 1),
        )
    with sessions.begin() as s:
        svc.run_end_of_day(s, dt.date(2026, 4, 1))
    with sessions() as s:
        rows = s.scalars(select(BucketHistoryRecord).where(BucketHistoryRecord.loan_id == loan_id))
        assert all(r.entered_on >= dt.date(2026, 4, 1) or r.bucket == "M0" for r in rows)


def test_the_delinquency_snapshot_agrees_with_the_fold_after_a_reschedule(sessions):
    # One truth: the rows end of day writes are what collections read (delinquency_snapshot).
    # A loan with three missed instalments is rescheduled on 2026-04-20: the fold defers the
    # arrears (interest and penalty) to 2026-05-20, so on 2026-05-01 the loan owes nothing
    # overdue (LoanState.overdue 0, DPD 0). The fold path writes the instalment rows without
    # the deferral (no ``deferred_to`` column), and the snapshot — due_on < as_of and unpaid —
    # reports CNY 417.04 overdue for a loan at DPD 0: collections would chase a borrower who
    # was just brought current. Expected: the snapshot's overdue equals the fold's.
    product = CATALOGUE["cash_loan"].model_copy(update={"reage_policy": "none"})
    terms = LoanTerms(product, Money.of("12000"), Decimal("0.12"), 12, dt.date(2026, 1, 10))
    with sessions.begin() as s:
        loan_id = svc.book_loan(s, terms, external_id="L1", borrower_id="B1")
    with sessions.begin() as s:
        svc.run_end_of_day(s, dt.date(2026, 4, 19))
    with sessions.begin() as s:
        svc.post_event(
            s,
            loan_id,
            Reschedule(dt.date(2026, 4, 20), 12, key="r"),
            business_date=dt.date(2026, 4, 20),
        )
    as_of = dt.date(2026, 5, 1)
    with sessions.begin() as s:
        svc.run_end_of_day(s, as_of)
    with sessions() as s:
        state = svc.loan_state(s, loan_id, as_of)
        snapshot = svc.delinquency_snapshot(s, as_of).row(0, named=True)
        record = s.get(LoanRecord, loan_id)
        assert (record.dpd, state.dpd) == (0, 0)
        assert snapshot["overdue_fen"] == state.overdue.minor, snapshot
