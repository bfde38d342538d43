"""Issue 23 part 4 on SQLite and PostgreSQL: one door for every payment (file import, posting),
suspense instead of lost money, no back-dated or future postings, end of day never rewinds,
bucket history kept consistent by the database itself."""

import datetime as dt
import itertools
import threading
from decimal import Decimal

import polars as pl
import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from fengkong.db import BucketHistoryRecord, LoanEventRecord, LoanRecord
from fengkong.db.engine import downgrade, migrate
from fengkong.errors import InvalidArgumentError, NotFoundError
from fengkong.money import Money
from fengkong.services import servicing as svc
from fengkong.servicing import LoanTerms, build_schedule, load_products
from fengkong.servicing.ledger import Recovery, Refund, Repayment, Reversal, WriteOff, replay

START = dt.date(2026, 1, 10)
TODAY = dt.date(2026, 12, 31)


def _terms(principal="3000", currency="CNY"):
    product = load_products()["cash_loan"]
    return LoanTerms(product, Money.of(principal, currency), Decimal("0.18"), 3, START)


def _book(sessions, *, currency="CNY"):
    with sessions.begin() as s:
        return svc.book_loan(s, _terms(currency=currency), external_id="L1", borrower_id="B1")


def _payoff(on, events=(), currency="CNY"):
    """The payoff to the fen on ``on``: the least amount that settles the loan (searched, so the
    test does not lean on the ledger's own payoff)."""
    schedule = build_schedule(_terms(currency=currency))
    low, high = 1, 1_000_000
    while low < high:
        mid = (low + high) // 2
        pay = Repayment(on, Money.from_minor(mid, currency), key="probe")
        if replay(schedule, [*events, pay], as_of=on).status == "settled":
            high = mid
        else:
            low = mid + 1
    return low


def _frame(rows):
    return pl.DataFrame(
        rows,
        schema={"loan_id": pl.String, "paid_on": pl.Date, "amount_fen": pl.Int64, "key": pl.String},
        orient="row",
    )


def _count(sessions, model=LoanEventRecord):
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def _history(sessions, loan_id):
    with sessions() as s:
        return [
            (h.bucket, h.entered_on, h.left_on)
            for h in s.scalars(
                select(BucketHistoryRecord)
                .where(BucketHistoryRecord.loan_id == loan_id)
                .order_by(BucketHistoryRecord.entered_on)
            )
        ]


def _consistent(history):
    assert all(left is None or entered <= left for _, entered, left in history)
    assert len({entered for _, entered, _ in history}) == len(history)  # no duplicates
    assert [left for _, _, left in history].count(None) == 1
    for (_, _, left), (_, entered, _) in itertools.pairwise(history):
        assert left == entered


# -- the import: the failures seen ---------------------------------------------------------


def test_an_import_far_above_the_payoff_is_held_in_suspense_not_lost(sessions):
    # seen: 100,000 imported on a 3,000 loan marked it settled, the excess vanished and
    # loan_state raised afterwards
    loan = _book(sessions)
    on = dt.date(2026, 2, 1)
    with sessions.begin() as s:
        assert (
            svc.import_repayments(s, _frame([("L1", on, 10_000_000, "big")]), business_date=TODAY)
            == 1
        )
    with sessions.begin() as s:
        svc.run_end_of_day(s, dt.date(2026, 2, 5))
    excess = 10_000_000 - _payoff(on)
    with sessions() as s:
        record = s.get(LoanRecord, loan)
        state = svc.loan_state(s, loan, dt.date(2026, 2, 5))
        assert (record.status, record.suspense_minor) == ("settled", excess)
        assert state.status == "settled" and state.suspense_fen == excess
        assert state.paid_total.minor + state.suspense_fen == 10_000_000
    # refunded by an explicit event: one fen more is refused
    with sessions.begin() as s, pytest.raises(InvalidArgumentError, match="suspense balance"):
        svc.refund_suspense(
            s, loan, dt.date(2026, 2, 6), excess + 1, key="back", business_date=TODAY
        )
    with sessions.begin() as s:
        svc.refund_suspense(s, loan, dt.date(2026, 2, 6), excess, key="back", business_date=TODAY)
        svc.run_end_of_day(s, dt.date(2026, 2, 6))
    with sessions() as s:
        assert s.get(LoanRecord, loan).suspense_minor == 0


def test_an_import_dated_on_or_before_the_last_end_of_day_is_refused(sessions):
    # seen: flagged posted and never applied (database 0.01 paid, fold 500.01)
    _book(sessions)
    with sessions.begin() as s:
        svc.run_end_of_day(s, dt.date(2026, 3, 1))
    for day in (dt.date(2026, 3, 1), dt.date(2026, 2, 1), dt.date(1, 1, 1)):
        with sessions.begin() as s, pytest.raises(InvalidArgumentError) as caught:
            svc.import_repayments(
                s,
                _frame([("L1", dt.date(2026, 3, 2), 1, "ok"), ("L1", day, 50_000, "late")]),
                business_date=TODAY,
            )
        assert caught.value.field == "payments[1].paid_on"
        assert "after the last end of day 2026-03-01" in str(caught.value)
    assert _count(sessions) == 0  # the good row of the file is not written either


def test_an_import_on_a_settled_loan_is_refused(sessions):
    _book(sessions)
    on = dt.date(2026, 2, 1)
    with sessions.begin() as s:
        svc.import_repayments(s, _frame([("L1", on, _payoff(on), "all")]), business_date=TODAY)
        svc.run_end_of_day(s, dt.date(2026, 2, 2))
    with sessions.begin() as s, pytest.raises(InvalidArgumentError, match="something left to pay"):
        svc.import_repayments(
            s, _frame([("L1", dt.date(2026, 2, 3), 100, "more")]), business_date=TODAY
        )
    assert _count(sessions) == 1


def test_the_currency_is_the_loans_never_hard_coded(sessions):
    loan = _book(sessions, currency="USD")
    with sessions.begin() as s:
        svc.import_repayments(
            s, _frame([("L1", dt.date(2026, 2, 1), 500, "p1")]), business_date=TODAY
        )
    with sessions() as s:
        row = s.scalars(select(LoanEventRecord)).one()
        assert row.payload["currency"] == "USD"
        assert svc.loan_state(s, loan, dt.date(2026, 2, 1)).paid_total == Money.of("5", "USD")
    wrong = _frame([("L1", dt.date(2026, 2, 2), 500, "p2")]).with_columns(currency=pl.lit("CNY"))
    with sessions.begin() as s, pytest.raises(InvalidArgumentError) as caught:
        svc.import_repayments(s, wrong, business_date=TODAY)
    assert caught.value.field == "payments[0].currency" and "USD" in str(caught.value)
    assert _count(sessions) == 1


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    [
        (
            pl.lit(dt.date(2031, 1, 1)).alias("paid_on"),
            "payments[0].paid_on",
            "on or before the business date",
        ),
        (pl.lit(dt.date(9999, 12, 31)).alias("paid_on"), "payments[0].paid_on", "business date"),
        (
            pl.lit(dt.date(1, 1, 1)).alias("paid_on"),
            "payments[0].paid_on",
            "after the last end of day",
        ),
        (
            pl.lit(dt.date(2026, 1, 9)).alias("paid_on"),
            "payments[0].paid_on",
            "after the last end of day",
        ),
        (pl.lit(-1, pl.Int64).alias("amount_fen"), "payments[0].amount_fen", "positive"),
        (pl.lit(0, pl.Int64).alias("amount_fen"), "payments[0].amount_fen", "positive"),
        (pl.lit(2**63 - 1, pl.Int64).alias("amount_fen"), "payments[0].amount_fen", "at most"),
        (pl.lit(10**12 + 1, pl.Int64).alias("amount_fen"), "payments[0].amount_fen", "at most"),
        (pl.lit(12.5).alias("amount_fen"), "payments.amount_fen", "Int64"),
        (pl.lit(None, pl.Int64).alias("amount_fen"), "payments[0].amount_fen", "a value"),
        (pl.lit("x" * 129).alias("key"), "payments[0].key", "1 to 128"),
        (pl.lit("").alias("key"), "payments[0].key", "1 to 128"),
        (pl.lit("2026-02-01").alias("paid_on"), "payments.paid_on", "Date"),
        (pl.lit("JPY").alias("currency"), "payments[0].currency", "the loan's currency CNY"),
        (pl.lit("XXXX").alias("currency"), "payments[0].currency", "ISO currency"),
        (pl.lit(1).alias("extra"), "payments", "only loan_id"),
    ],
)
def test_every_hostile_import_value_is_refused_naming_the_field(sessions, change, field, expected):
    _book(sessions)
    frame = _frame([("L1", dt.date(2026, 2, 1), 100, "p1")]).with_columns(change)
    with sessions.begin() as s, pytest.raises(InvalidArgumentError) as caught:
        svc.import_repayments(s, frame, business_date=TODAY)
    assert caught.value.field == field and expected in str(caught.value)
    assert _count(sessions) == 0


def test_an_import_refuses_a_key_reused_for_another_payment_and_unknown_loans(sessions):
    _book(sessions)
    on = dt.date(2026, 2, 1)
    twice = _frame([("L1", on, 100, "k"), ("L1", on, 100, "k")])
    with sessions.begin() as s:
        assert svc.import_repayments(s, twice, business_date=TODAY) == 1  # same content: once
    for bad in (_frame([("L1", on, 101, "k")]), _frame([("L1", on, 5, "n"), ("L1", on, 6, "n")])):
        with (
            sessions.begin() as s,
            pytest.raises(InvalidArgumentError, match="not used by another"),
        ):
            svc.import_repayments(s, bad, business_date=TODAY)
    with sessions.begin() as s, pytest.raises(NotFoundError):
        svc.import_repayments(s, _frame([("L9", on, 1, "x")]), business_date=TODAY)
    assert _count(sessions) == 1


# -- posting one payment --------------------------------------------------------------------


def test_exactly_the_payoff_settles_and_one_fen_more_goes_to_suspense(sessions):
    with sessions.begin() as s:
        a = svc.book_loan(s, _terms(), external_id="A", borrower_id="B1")
        b = svc.book_loan(s, _terms(), external_id="B", borrower_id="B2")
    on = dt.date(2026, 2, 1)
    exact = _payoff(on)
    with sessions.begin() as s:
        first = svc.post_repayment(s, a, on, exact, key="pa", business_date=TODAY)
        second = svc.post_repayment(s, b, on, exact + 1, key="pb", business_date=TODAY)
    assert (first.status, first.suspense_fen) == ("settled", 0)
    assert (second.status, second.suspense_fen) == ("settled", 1)
    with sessions.begin() as s:
        svc.run_end_of_day(s, dt.date(2026, 2, 3))
    with sessions() as s:
        assert [s.get(LoanRecord, x).suspense_minor for x in (a, b)] == [0, 1]
        assert {s.get(LoanRecord, x).status for x in (a, b)} == {"settled"}


def test_two_payments_of_one_day_above_the_payoff_go_through_the_fold_at_end_of_day(sessions):
    loan = _book(sessions)
    on = dt.date(2026, 2, 1)
    half = _payoff(on) // 2 + 100
    with sessions.begin() as s:
        svc.post_repayment(s, loan, on, half, key="h1", business_date=TODAY)
        svc.post_repayment(s, loan, on, half, key="h2", business_date=TODAY)
        svc.run_end_of_day(s, dt.date(2026, 2, 2))
    with sessions() as s:
        record, state = s.get(LoanRecord, loan), svc.loan_state(s, loan, dt.date(2026, 2, 2))
        assert (record.status, record.suspense_minor) == (state.status, state.suspense_fen)
        assert record.status == "settled" and record.suspense_minor == 2 * half - _payoff(on)


def test_postings_before_the_last_end_of_day_or_after_the_business_date_are_refused(sessions):
    loan = _book(sessions)
    with sessions.begin() as s:
        svc.run_end_of_day(s, dt.date(2026, 3, 1))
    for on, expected in (
        (dt.date(2026, 3, 1), "after the last end of day 2026-03-01"),
        (dt.date(2031, 1, 1), "on or before the business date 2026-12-31"),
        (dt.date(9999, 12, 31), "on or before the business date"),
        (dt.date(1, 1, 1), "after the last end of day"),
    ):
        with sessions.begin() as s, pytest.raises(InvalidArgumentError, match=expected):
            svc.post_repayment(s, loan, on, 100, key=f"k{on}", business_date=TODAY)
    with sessions.begin() as s, pytest.raises(InvalidArgumentError, match="currency"):
        svc.post_repayment(
            s, loan, dt.date(2026, 3, 2), Money.of("1", "USD"), key="usd", business_date=TODAY
        )
    assert _count(sessions) == 0


def test_recoveries_and_reversals_are_checked_at_the_door(sessions):
    loan = _book(sessions)
    with sessions.begin() as s:
        svc.post_repayment(s, loan, dt.date(2026, 2, 10), 1000, key="p", business_date=TODAY)
        svc.post_event(s, loan, WriteOff(dt.date(2026, 9, 1), key="wo"), business_date=TODAY)
    with sessions.begin() as s, pytest.raises(InvalidArgumentError, match="written-off amount"):
        svc.post_event(
            s, loan, Recovery(dt.date(2026, 9, 2), Money.of("99999"), key="r"), business_date=TODAY
        )
    with (
        sessions.begin() as s,
        pytest.raises(InvalidArgumentError, match="reversal dated on or after"),
    ):
        svc.post_event(
            s, loan, Reversal(dt.date(2026, 2, 9), reverses="p", key="rv"), business_date=TODAY
        )
    with sessions.begin() as s, pytest.raises(InvalidArgumentError, match="suspense balance"):
        svc.post_event(
            s, loan, Refund(dt.date(2026, 9, 2), Money.of("1"), key="rf"), business_date=TODAY
        )
    assert _count(sessions) == 2


def test_simultaneous_postings_of_one_key_post_once(sessions):
    loan = _book(sessions)
    barrier, results = threading.Barrier(4), []

    def post():
        barrier.wait()
        try:
            with sessions.begin() as s:
                state = svc.post_repayment(
                    s, loan, dt.date(2026, 2, 1), 5_000, key="same", business_date=TODAY
                )
            results.append(state.paid_total.minor)
        except Exception as exc:  # any failure is the test's failure
            results.append(exc)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [5_000] * 4
    assert _count(sessions) == 1


# -- end of day -------------------------------------------------------------------------------


def test_end_of_day_for_an_earlier_date_is_refused_and_rewinds_nothing(sessions):
    # seen: DPD 38/M2 back to 28/M1, last_eod set back, bucket history entered 04-12 left 03-13
    loan = _book(sessions)
    with sessions.begin() as s:
        svc.run_end_of_day(s, dt.date(2026, 3, 20))
    with sessions() as s:
        before = s.get(LoanRecord, loan)
        kept = (before.dpd, before.bucket, before.last_eod)
    assert kept[1] == "M2"
    for day in (dt.date(2026, 3, 10), dt.date(1, 1, 1)):
        with sessions.begin() as s, pytest.raises(InvalidArgumentError, match="business_date"):
            svc.run_end_of_day(s, day)
    with sessions.begin() as s:
        assert svc.run_end_of_day(s, dt.date(2026, 3, 20)).already_done
    with sessions.begin() as s, pytest.raises(InvalidArgumentError, match="on or before today"):
        svc.run_end_of_day(s, dt.date(9999, 12, 31), today=TODAY)
    with sessions() as s:
        after = s.get(LoanRecord, loan)
        assert (after.dpd, after.bucket, after.last_eod) == kept
    with sessions.begin() as s:
        svc.run_end_of_day(s, dt.date(2026, 5, 1))
    history = _history(sessions, loan)
    _consistent(history)
    assert [b for b, _, _ in history] == ["M0", "M1", "M2", "M3"]


def test_a_loan_disbursed_later_is_not_rewound_by_an_earlier_end_of_day(sessions):
    with sessions.begin() as s:
        later = LoanTerms(
            load_products()["cash_loan"], Money.of("3000"), Decimal("0.18"), 3, dt.date(2026, 6, 1)
        )
        loan = svc.book_loan(s, later, external_id="F", borrower_id="B")
    with sessions.begin() as s:
        svc.run_end_of_day(s, dt.date(2026, 3, 1))
    with sessions() as s:
        assert s.get(LoanRecord, loan).last_eod == dt.date(2026, 5, 31)
    assert _history(sessions, loan) == [("M0", dt.date(2026, 6, 1), None)]


def test_the_database_refuses_an_inconsistent_bucket_history(sessions):
    loan = _book(sessions)
    row = {"loan_id": loan, "bucket": "M1"}
    for bad in (
        {
            **row,
            "entered_on": dt.date(2026, 4, 12),
            "left_on": dt.date(2026, 3, 13),
        },  # left < entered
        {**row, "entered_on": START, "left_on": dt.date(2026, 2, 1)},  # a duplicate entry day
        {**row, "entered_on": dt.date(2026, 2, 1), "left_on": None},  # a second open row
    ):
        with sessions.begin() as s, pytest.raises(IntegrityError):
            s.execute(insert(BucketHistoryRecord), [bad])
    with sessions.begin() as s, pytest.raises(IntegrityError):
        s.execute(text("UPDATE loans SET suspense_minor = -1"))
    assert _history(sessions, loan) == [("M0", START, None)]


def test_the_migration_repairs_an_old_history_before_adding_the_constraints(engine, sessions):
    loan = _book(sessions)
    downgrade(engine, "0006")
    with engine.begin() as c:
        c.execute(text("DELETE FROM bucket_history"))
        for bucket, entered, left in (
            ("M0", "2026-01-10", "2026-02-11"),
            ("M1", "2026-02-11", None),
            ("M1", "2026-02-11", None),  # a duplicate
            ("M2", "2026-04-12", "2026-03-13"),  # left before it entered
            ("M3", "2026-04-20", None),  # a second open row
        ):
            c.execute(
                text(
                    "INSERT INTO bucket_history (loan_id, bucket, entered_on, left_on) VALUES (:l, :b, :e, :f)"
                ),
                {
                    "l": loan,
                    "b": bucket,
                    "e": dt.date.fromisoformat(entered),
                    "f": left and dt.date.fromisoformat(left),
                },
            )
    migrate(engine)
    history = _history(sessions, loan)
    assert [b for b, _, _ in history] == ["M0", "M1", "M2", "M3"]
    assert all(left is None or entered <= left for _, entered, left in history)
    assert [left for _, _, left in history].count(None) == 1
    with sessions() as s:
        assert s.get(LoanRecord, loan).suspense_minor == 0
