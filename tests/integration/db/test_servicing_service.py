"""Servicing use cases on SQLite and PostgreSQL: booking, idempotent payments, end of day."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from sqlalchemy import func, inspect, select

from fengkong.db import BucketHistoryRecord, InstalmentRecord, LoanEventRecord, LoanRecord
from fengkong.db.engine import downgrade
from fengkong.errors import InvalidArgumentError, NotFoundError
from fengkong.money import Money
from fengkong.services import servicing as svc
from fengkong.servicing import LoanTerms, build_schedule, load_products
from fengkong.servicing.ledger import (
    COMPONENTS,
    HardshipPlan,
    Prepayment,
    Repayment,
    Reversal,
    WriteOff,
)

CATALOGUE = load_products()
START = dt.date(2026, 1, 10)
TODAY = dt.date(2026, 12, 31)  # the service's business day (its clock) in these tests


def _terms(principal="3000", rate="0.18", term=3, product="cash_loan", **update):
    p = CATALOGUE[product].model_copy(update=update) if update else CATALOGUE[product]
    return LoanTerms(p, Money.of(principal), Decimal(rate), term, START)


def _book(sessions):
    with sessions.begin() as s:
        a = svc.book_loan(
            s, _terms(late_fee_fen=2000, grace_days=3), external_id="L1", borrower_id="B1"
        )
        b = svc.book_loan(
            s,
            _terms("1200", "0", product="flat_fee_instalment"),
            external_id="L2",
            borrower_id="B1",
        )
        c = svc.book_loan(
            s,
            _terms("6000", "0.12", term=6, product="small_business"),
            external_id="L3",
            borrower_id="B2",
        )
    return a, b, c


def test_migrations_create_the_tables_and_downgrade_cleanly(engine):
    names = set(inspect(engine).get_table_names())
    assert {
        "loans",
        "instalments",
        "loan_events",
        "bucket_history",
        "eod_runs",
        "alembic_version",
    } <= names
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}


def test_booking_writes_the_schedule_and_refuses_a_duplicate(sessions):
    a, _, _ = _book(sessions)
    with sessions() as s:
        rows = s.scalars(
            select(InstalmentRecord)
            .where(InstalmentRecord.loan_id == a)
            .order_by(InstalmentRecord.instalment)
        ).all()
        assert sum(r.due_principal for r in rows) == 300_000 and len(rows) == 3
    with pytest.raises(InvalidArgumentError, match="external_id"), sessions.begin() as s:
        svc.book_loan(s, _terms(), external_id="L1", borrower_id="B9")
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(LoanRecord)) == 3


def test_repayments_are_idempotent_and_bad_ones_write_nothing(sessions):
    a, _, _ = _book(sessions)
    with sessions.begin() as s:
        svc.post_repayment(
            s, a, dt.date(2026, 2, 10), Money.of("1000"), key="pay-1", business_date=TODAY
        )
    with sessions.begin() as s:  # the same request again: no second posting
        svc.post_repayment(
            s, a, dt.date(2026, 2, 10), Money.of("1000"), key="pay-1", business_date=TODAY
        )
    for bad, message in [
        (
            lambda s: svc.post_repayment(
                s, a, dt.date(2026, 2, 10), Money.of("5"), key="pay-1", business_date=TODAY
            ),
            "key",
        ),
        (
            lambda s: svc.post_repayment(
                s, a, dt.date(2031, 2, 11), Money.of("99999"), key="pay-2", business_date=TODAY
            ),
            "on or before the business date",  # issue 23: a payment dated 2031 was accepted
        ),
        (
            lambda s: svc.post_repayment(
                s, 999, dt.date(2026, 2, 11), Money.of("1"), key="x", business_date=TODAY
            ),
            "loan not found",
        ),
    ]:
        with (
            pytest.raises((InvalidArgumentError, NotFoundError), match=message),
            sessions.begin() as s,
        ):
            bad(s)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(LoanEventRecord)) == 1


def test_end_of_day_matches_the_fold_is_idempotent_and_keeps_bucket_history(sessions):
    a, b, c = _book(sessions)
    with sessions.begin() as s:
        svc.post_repayment(
            s, b, dt.date(2026, 2, 10), Money.of("407.20"), key="b1", business_date=TODAY
        )
    as_of = dt.date(2026, 6, 1)
    with sessions.begin() as s:
        summary = svc.run_end_of_day(s, as_of)
    assert not summary.already_done and summary.payments == 1
    with sessions.begin() as s:
        again = svc.run_end_of_day(s, as_of)
    assert again.already_done
    with sessions() as s:
        for loan_id in (a, b, c):
            state = svc.loan_state(s, loan_id, as_of)
            record = s.get(LoanRecord, loan_id)
            assert record.accrued_interest_minor == state.accrued_interest.minor
            assert (record.dpd, record.status, record.bucket, record.last_eod) == (
                state.dpd,
                state.status,
                state.bucket,
                as_of,
            )
            rows = s.scalars(
                select(InstalmentRecord)
                .where(InstalmentRecord.loan_id == loan_id)
                .order_by(InstalmentRecord.instalment)
            ).all()
            for inst, row in zip(state.instalments, rows, strict=True):
                for comp in COMPONENTS:
                    assert (getattr(row, f"due_{comp}"), getattr(row, f"paid_{comp}")) == (
                        inst.due[comp],
                        inst.paid[comp],
                    )
        assert s.get(LoanRecord, a).npa_contagion == s.get(LoanRecord, b).npa_contagion
        history = s.scalars(
            select(BucketHistoryRecord)
            .where(BucketHistoryRecord.loan_id == a)
            .order_by(BucketHistoryRecord.id)
        ).all()
        assert [h.bucket for h in history] == ["M0", "M1", "M2", "M3", "M4"][: len(history)]
        assert history[-1].bucket == s.get(LoanRecord, a).bucket and history[-1].left_on is None
        assert all(h.left_on == nxt.entered_on for h, nxt in itertools.pairwise(history))
        assert history[1].entered_on == dt.date(
            2026, 2, 11
        )  # the day after the first missed due date


def test_a_crash_midway_leaves_the_old_state(sessions, monkeypatch):
    a, _, _ = _book(sessions)

    def boom(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(
        svc, "EodSummary", boom
    )  # fails after the whole book was written and flushed
    with pytest.raises(RuntimeError), sessions.begin() as s:
        svc.run_end_of_day(s, dt.date(2026, 3, 1))
    monkeypatch.undo()
    with sessions() as s:
        record = s.get(LoanRecord, a)
        assert record.last_eod == START - dt.timedelta(days=1) and record.dpd == 0


def test_the_statement_of_a_booked_loan(sessions):
    a, _, _ = _book(sessions)
    with sessions() as s:
        st = svc.loan_statement(
            s, a, dt.date(2026, 5, 1), jurisdiction="cn", lender_type="licensed"
        )
    assert st.line("principal").contract == Money.of("3000")


def test_every_event_kind_goes_through_the_service_and_end_of_day(sessions):
    a, b, c = _book(sessions)
    with sessions.begin() as s:
        svc.post_repayment(
            s, a, dt.date(2026, 2, 10), Money.of("1000"), key="a1", business_date=TODAY
        )
        svc.post_repayment(
            s, b, dt.date(2026, 2, 10), Money.of("407.20"), key="b1", business_date=TODAY
        )
    with sessions.begin() as s:
        svc.run_end_of_day(s, dt.date(2026, 2, 20))
    with sessions.begin() as s:
        svc.post_event(
            s,
            a,
            Reversal(dt.date(2026, 2, 21), reverses="a1", key="a1-bounced"),
            business_date=TODAY,
        )
        svc.post_event(s, b, Prepayment(dt.date(2026, 2, 25), key="b-payoff"), business_date=TODAY)
        svc.post_event(s, c, WriteOff(dt.date(2026, 3, 1), key="c-wo"), business_date=TODAY)
        svc.post_event(
            s, c, WriteOff(dt.date(2026, 3, 1), key="c-wo"), business_date=TODAY
        )  # idempotent
    for bad, message in [
        (
            lambda s: svc.post_event(
                s, a, Reversal(dt.date(2026, 2, 22), reverses="nope", key="r9"), business_date=TODAY
            ),
            "reverses",
        ),
        (
            lambda s: svc.post_event(
                s, a, Reversal(dt.date(2026, 2, 10), reverses="a1", key="r8"), business_date=TODAY
            ),
            "after the last end of day",
        ),
    ]:
        with pytest.raises(InvalidArgumentError, match=message), sessions.begin() as s:
            bad(s)
    as_of = dt.date(2026, 4, 30)
    with sessions.begin() as s:
        svc.run_end_of_day(s, as_of)
    with sessions() as s:
        for loan_id, status in ((a, "overdue"), (b, "settled"), (c, "written_off")):
            state = svc.loan_state(s, loan_id, as_of)
            record = s.get(LoanRecord, loan_id)
            assert (record.status, record.dpd, record.bucket) == (
                state.status,
                state.dpd,
                state.bucket,
            )
            assert record.status == status
            rows = s.scalars(
                select(InstalmentRecord)
                .where(InstalmentRecord.loan_id == loan_id)
                .order_by(InstalmentRecord.instalment)
            ).all()
            assert [(r.due_principal, r.paid_principal, r.due_penalty) for r in rows] == [
                (i.due["principal"], i.paid["principal"], i.due["penalty"])
                for i in state.instalments
            ]
        assert (
            s.scalar(
                select(func.count())
                .select_from(LoanEventRecord)
                .where(LoanEventRecord.posted_eod.is_(False))
            )
            == 0
        )


def test_a_hardship_plan_posts_through_the_service_and_end_of_day(sessions):
    """Issue 23 part 6: a HardshipPlan goes through the one door (stored by class name, its
    rates as exact decimals), is idempotent, a bad one writes nothing, and end of day (the
    per-loan fold) agrees with the fold. 3,000 at 18 % over 6 months from 01-10 (FFIEC limits):
    the instalment (3,000 x 0.015 / (1 - 1.015^-6) = 526.58) paid in February, March and April
    qualifies a plan on 04-15."""
    inst = build_schedule(_terms(term=6)).instalments[0].total
    assert inst == Money.of("526.58")
    with sessions.begin() as s:
        a = svc.book_loan(s, _terms(term=6), external_id="L1", borrower_id="B1")
        for m in (2, 3):
            svc.post_repayment(s, a, dt.date(2026, m, 10), inst, key=f"p{m}", business_date=TODAY)
    plan = HardshipPlan(dt.date(2026, 4, 15), 2, key="hp", rate=Decimal("0.06"))
    with pytest.raises(InvalidArgumentError, match="consecutive"), sessions.begin() as s:
        svc.post_event(s, a, plan, business_date=TODAY)  # two payments only: refused
    with sessions.begin() as s:
        svc.post_event(
            s, a, Repayment(dt.date(2026, 4, 10), Money.of("10"), key="p4"), business_date=TODAY
        )
    bad = HardshipPlan(dt.date(2026, 4, 15), 2, key="hp-bad", rate=Decimal("0.5"))
    with pytest.raises(InvalidArgumentError, match="rate"), sessions.begin() as s:
        svc.post_event(s, a, bad, business_date=TODAY)
    # 10.00 in April: 526.58 + 526.58 + 10.00 < 3 x 526.58: still refused
    with pytest.raises(InvalidArgumentError, match="consecutive"), sessions.begin() as s:
        svc.post_event(s, a, plan, business_date=TODAY)
    with sessions.begin() as s:
        svc.post_event(
            s,
            a,
            Repayment(dt.date(2026, 4, 11), inst - Money.of("10"), key="p4b"),
            business_date=TODAY,
        )
    with sessions.begin() as s:
        state = svc.post_event(s, a, plan, business_date=TODAY)
        assert state.status == "rescheduled" and state.reages == (plan.on,)
        svc.post_event(s, a, plan, business_date=TODAY)  # the same event again: a no-op
    with sessions() as s:
        rows = s.scalars(select(LoanEventRecord).where(LoanEventRecord.kind == "HardshipPlan"))
        assert [(r.key, r.payload["rate"]) for r in rows] == [("hp", "0.06")]
    as_of = dt.date(2026, 7, 20)
    with sessions.begin() as s:
        svc.run_end_of_day(s, as_of)
    with sessions() as s:
        state = svc.loan_state(s, a, as_of)
        record = s.get(LoanRecord, a)
        assert (record.status, record.dpd, record.bucket) == (state.status, state.dpd, state.bucket)
        assert state.status == "rescheduled" and state.dpd > 0  # the plan's lines went unpaid
        rows = s.scalars(
            select(InstalmentRecord)
            .where(InstalmentRecord.loan_id == a)
            .order_by(InstalmentRecord.instalment)
        ).all()
        assert [(r.due_on, r.due_principal, r.due_interest) for r in rows] == [
            (i.due_on, i.due["principal"], i.due["interest"]) for i in state.instalments
        ]


def test_a_product_waterfall_is_honoured_by_end_of_day(sessions):
    principal_first = tuple(
        f"{w}.{c}"
        for w in ("past_due", "due", "in_advance")
        for c in ("principal", "interest", "fee", "penalty")
    )
    with sessions.begin() as s:
        loan = svc.book_loan(
            s, _terms(allocation=principal_first), external_id="W1", borrower_id="B7"
        )
        plain = svc.book_loan(s, _terms(), external_id="W2", borrower_id="B8")
    with sessions.begin() as s:
        for loan_id in (loan, plain):
            svc.post_repayment(
                s,
                loan_id,
                dt.date(2026, 3, 1),
                Money.of("300"),
                key=f"late-{loan_id}",
                business_date=TODAY,
            )
    with sessions.begin() as s:
        svc.run_end_of_day(s, dt.date(2026, 3, 5))
    with sessions() as s:
        rows = {
            loan_id: s.scalars(
                select(InstalmentRecord).where(
                    InstalmentRecord.loan_id == loan_id, InstalmentRecord.instalment == 1
                )
            ).one()
            for loan_id in (loan, plain)
        }
        assert rows[loan].paid_principal > rows[plain].paid_principal
        assert rows[loan].paid_interest == 0 and rows[plain].paid_interest > 0
        state = svc.loan_state(s, loan, dt.date(2026, 3, 5))
        assert rows[loan].paid_principal == state.instalments[0].paid["principal"]


def test_bulk_repayments_skip_posted_keys_and_refuse_bad_rows(sessions):
    import polars as pl  # noqa: PLC0415

    _book(sessions)
    frame = pl.DataFrame({"loan_id": ["L1", "L1", "L3"], "paid_on": [START + dt.timedelta(days=31)] * 3,
                          "amount_fen": [100_000, 5_000, 20_000], "key": ["p1", "p2", "p1"]})  # fmt: skip
    with sessions.begin() as s:
        assert svc.import_repayments(s, frame, business_date=TODAY) == 3
    with sessions.begin() as s:
        assert (
            svc.import_repayments(s, frame, business_date=TODAY) == 0
        )  # the same keys again: nothing posted twice
    for bad, error in (
        (frame.with_columns(pl.lit(0).alias("amount_fen")), InvalidArgumentError),
        (frame.with_columns(pl.lit("nope").alias("loan_id")), NotFoundError),
        (frame.drop("key"), InvalidArgumentError),
    ):
        with pytest.raises(error), sessions.begin() as s:
            svc.import_repayments(
                s,
                bad.with_columns(pl.lit("new").alias("key")) if "key" in bad.columns else bad,
                business_date=TODAY,
            )
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(LoanEventRecord)) == 3
        snapshot = svc.delinquency_snapshot(s, START + dt.timedelta(days=45))
    assert snapshot.columns == [
        "loan_id",
        "borrower_id",
        "dpd",
        "overdue_fen",
        "balance_fen",
        "status",
    ]
    by_loan = {r["loan_id"]: r for r in snapshot.iter_rows(named=True)}
    assert all(
        r["overdue_fen"] > 0 for r in by_loan.values()
    )  # first instalments fell due unpaid (no EOD yet)
    assert sum(r["balance_fen"] for r in by_loan.values()) == 300_000 + 120_000 + 600_000
