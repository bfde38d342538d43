"""Portfolio figures from the servicing database: vintage curves and roll rates by hand."""

import datetime as dt
from decimal import Decimal

from fengkong.db import BucketHistoryRecord, EodRunRecord
from fengkong.money import Money
from fengkong.services import servicing as svc
from fengkong.services.dashboard import kpis, roll_rates, vintage_curves
from fengkong.servicing import LoanTerms, load_products


def _loan(s, name, on):
    terms = LoanTerms(load_products()["cash_loan"], Money.of("1200"), Decimal("0.12"), 6, on)
    return svc.book_loan(s, terms, external_id=name, borrower_id=name)


def test_vintages_and_roll_rates_follow_the_bucket_history(sessions):
    jan, feb = dt.date(2026, 1, 5), dt.date(2026, 2, 5)
    with sessions.begin() as s:
        a, _, c = _loan(s, "A", jan), _loan(s, "B", jan), _loan(s, "C", feb)
        s.flush()
        # A: M1 on 03-10, M2 on 04-08 (30+ in its third month on book); B stays current;
        # C: M1 on 04-06, cured on 04-20
        # close the open M0 rows first: at most one open row per loan (a constraint)
        for record in s.query(BucketHistoryRecord).filter(BucketHistoryRecord.bucket == "M0"):
            if record.loan_id in (a, c) and record.entered_on in (jan, feb):
                record.left_on = (
                    dt.date(2026, 3, 10) if record.loan_id == a else dt.date(2026, 4, 6)
                )
        for loan, bucket, entered, left in (
            (a, "M1", dt.date(2026, 3, 10), dt.date(2026, 4, 8)), (a, "M2", dt.date(2026, 4, 8), None),
            (c, "M1", dt.date(2026, 4, 6), dt.date(2026, 4, 20)), (c, "M0", dt.date(2026, 4, 20), None),
        ):  # fmt: skip
            s.add(
                BucketHistoryRecord(loan_id=loan, bucket=bucket, entered_on=entered, left_on=left)
            )
        s.add(EodRunRecord(business_date=dt.date(2026, 5, 31), loans=3, payments=0))
    with sessions() as s:
        curves = vintage_curves(s)
        rolls = roll_rates(s)
        figures = kpis(s)
    jan_curve = {
        r["mob"]: r["share"]
        for r in curves.filter(curves["vintage"] == dt.date(2026, 1, 1)).iter_rows(named=True)
    }
    assert jan_curve[2] == 0 and jan_curve[3] == 0.5 and jan_curve[4] == 0.5  # A of A, B by MOB 3
    feb_curve = curves.filter(curves["vintage"] == dt.date(2026, 2, 1))["share"].to_list()
    assert set(feb_curve) == {0.0}  # C was never 30+
    march_to_april = rolls.filter(
        (rolls["month"] == dt.date(2026, 4, 30)) & (rolls["from"] == "M1")
    )
    assert march_to_april["loans"].to_list() == [1] and march_to_april["rate"].to_list() == [1.0]
    assert figures["loans"] == 3 and figures["as_of"] == "2026-05-31"
