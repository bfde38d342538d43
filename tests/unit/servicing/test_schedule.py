"""Schedules: golden files, invariants, the batch engine equal to the Decimal engine, bad input."""

import datetime as dt
import json
import os
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fengkong.errors import InvalidArgumentError
from fengkong.money import Money
from fengkong.servicing.batch import schedules, terms_frame
from fengkong.servicing.products import METHODS, Product, get_product, load_products
from fengkong.servicing.schedule import LoanTerms, add_months, build_schedule, due_dates

GOLDEN = Path(__file__).parent / "golden"
CATALOGUE = load_products()

CASES = {
    "cash_loan_10000_12pct_12m": ("cash_loan", "10000", "0.12", 12, dt.date(2026, 1, 1), None),
    "cash_loan_odd_first_period": (
        "cash_loan",
        "6000",
        "0.18",
        6,
        dt.date(2026, 1, 20),
        dt.date(2026, 3, 5),
    ),
    "small_business_act365": ("small_business", "50000", "0.0725", 12, dt.date(2026, 1, 31), None),
    "consumer_bullet": ("consumer_bullet", "8000", "0.15", 6, dt.date(2026, 3, 15), None),
    "payday": ("payday", "1000", "0.24", 1, dt.date(2026, 2, 10), None),
    "flat_fee_instalment": ("flat_fee_instalment", "3000", "0", 12, dt.date(2026, 5, 31), None),
}


def _terms(product, principal, rate, term, disbursed, first):
    return LoanTerms(CATALOGUE[product], Money.of(principal), Decimal(rate), term, disbursed, first)


def _rows(schedule):
    return [
        {
            "n": i.number,
            "due_on": i.due_on.isoformat(),
            "principal": str(i.principal.amount),
            "interest": str(i.interest.amount),
            "fee": str(i.fee.amount),
            "total": str(i.total.amount),
            "balance": str(i.balance.amount),
        }
        for i in schedule.instalments
    ]


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_schedules(name):
    """Golden files pin every schedule; regenerate with FENGKONG_REGOLD=1 after a reviewed change."""
    rows = _rows(build_schedule(_terms(*CASES[name])))
    path = GOLDEN / f"{name}.json"
    if os.environ.get("FENGKONG_REGOLD"):
        path.write_text(json.dumps(rows, indent=1) + "\n")
    assert rows == json.loads(path.read_text())


def test_the_textbook_equal_instalment():
    s = build_schedule(_terms(*CASES["cash_loan_10000_12pct_12m"]))
    assert s.instalments[0].total == Money.of("888.49")  # 10,000 at 1 % a month over 12 months
    assert s.instalments[0].interest == Money.of("100.00")
    assert s.total_principal == Money.of("10000")
    assert s.instalments[-1].balance == Money.zero()


def test_odd_first_period_accrues_for_its_length():
    s = build_schedule(_terms(*CASES["cash_loan_odd_first_period"]))
    # 2026-01-20 -> 2026-03-05 is 45 days under 30/360: 6,000 x 18 % x 45/360 = 135.00
    assert s.instalments[0].interest == Money.of("135.00")
    assert [i.due_on.day for i in s.instalments] == [5] * 6


def test_month_end_dates_clamp_and_recover():
    assert due_dates(dt.date(2026, 1, 31), 3) == (
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 31),
        dt.date(2026, 4, 30),
    )
    assert due_dates(dt.date(2026, 1, 15), 2, dt.date(2026, 1, 31)) == (
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 28),
    )
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)


def test_flat_fee_charges_the_same_fee_every_period():
    s = build_schedule(_terms(*CASES["flat_fee_instalment"]))
    assert {i.fee for i in s.instalments} == {Money.of("18.00")}  # 3,000 x 0.6 %
    assert s.total_interest == Money.zero()


def test_grace_and_multiples():
    product = CATALOGUE["cash_loan"].model_copy(
        update={"principal_grace_periods": 2, "instalment_multiple_fen": 100}
    )
    s = build_schedule(
        LoanTerms(product, Money.of("12000"), Decimal("0.1"), 12, dt.date(2026, 1, 1))
    )
    assert [i.principal.minor for i in s.instalments[:2]] == [0, 0]
    assert all(i.total.minor % 100 == 0 for i in s.instalments[2:-1])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"principal": Money.of("0")}, "principal"),
        ({"principal": Money.of("-5")}, "principal"),
        ({"term": 0}, "term"),
        ({"term": 99}, "term"),
        ({"annual_rate": Decimal("10.5")}, "annual_rate"),
        ({"annual_rate": Decimal("-0.1")}, "annual_rate"),
        ({"annual_rate": Decimal("0.1234567")}, "annual_rate"),
        ({"first_due_on": dt.date(2025, 12, 1)}, "first_due_on"),
    ],
)
def test_bad_contracts_name_the_field(kwargs, field):
    base = {
        "product": CATALOGUE["cash_loan"],
        "principal": Money.of("1000"),
        "annual_rate": Decimal("0.1"),
        "term": 12,
        "disbursed_on": dt.date(2026, 1, 1),
    }
    with pytest.raises(InvalidArgumentError) as info:
        LoanTerms(**{**base, **kwargs})
    assert info.value.field == field


def test_unknown_product_is_a_clear_error():
    with pytest.raises(InvalidArgumentError, match="product: expected one of"):
        get_product(CATALOGUE, "mortgage")


def test_batch_engine_rejects_unknown_methods():
    frame = terms_frame([_terms(*CASES["payday"])]).with_columns(method=pl.lit("balloon"))
    with pytest.raises(InvalidArgumentError, match="method"):
        schedules(frame)


@st.composite
def contracts(draw):
    method = draw(st.sampled_from(METHODS))
    day_count = draw(st.sampled_from(["30/360", "ACT/360", "ACT/365"]))
    term = 1 if method == "single_payment" else draw(st.integers(1, 40))
    grace = (
        draw(st.integers(0, term - 1))
        if method in ("equal_instalment", "equal_principal", "flat_fee") and term > 1
        else 0
    )
    product = Product(
        name="p",
        method=method,
        day_count=day_count,
        max_term=1 if method == "single_payment" else 480,
        principal_grace_periods=grace,
        instalment_multiple_fen=draw(st.sampled_from([1, 1, 100, 1000])),
        instalment_fee_rate=Decimal(draw(st.integers(0, 20_000))) / 1_000_000,
    )
    disbursed = draw(st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31)))
    first = draw(st.none() | st.integers(1, 75).map(lambda d: disbursed + dt.timedelta(days=d)))
    return LoanTerms(
        product,
        Money.from_minor(draw(st.integers(1, 10**9))),
        Decimal(draw(st.integers(0, 3_000_000))) / 1_000_000,
        term,
        disbursed,
        first,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(contracts(), min_size=1, max_size=6))
def test_batch_engine_equals_the_decimal_engine(terms):
    batch = schedules(terms_frame(terms))
    for loan_id, t in enumerate(terms):
        s = build_schedule(t)
        rows = batch.filter(loan_id=loan_id)
        assert rows["due_on"].to_list() == [i.due_on for i in s.instalments]
        assert rows["principal_fen"].to_list() == [i.principal.minor for i in s.instalments]
        assert rows["interest_fen"].to_list() == [i.interest.minor for i in s.instalments]
        assert rows["fee_fen"].to_list() == [i.fee.minor for i in s.instalments]
        assert rows["balance_fen"].to_list() == [i.balance.minor for i in s.instalments]
        # Invariants: principal parts sum to the principal, balances never go negative.
        assert sum(rows["principal_fen"]) == t.principal.minor
        assert min(rows["balance_fen"]) >= 0 and rows["balance_fen"][-1] == 0
