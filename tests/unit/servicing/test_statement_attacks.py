"""Attacks on legal_statement / legal_statements / lawful_periods (audit).

Each test states the promise it checks (docs/servicing.md "The legal statement", the module's
own docstring, /work/shared/DOMAIN.md "Rates: APR and legal caps") and, for cases worked by
hand, the arithmetic with its day counts. Conventions as in test_statement.py: lawful charges
accrue actual/365 on the principal actually received and outstanding, the day of disbursement
counted and the statement day not, rounded half to even to the fen.
"""

import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fengkong.errors import InvalidArgumentError
from fengkong.money import Money
from fengkong.servicing.ledger import (
    FeeCharge,
    Repayment,
    Reschedule,
    Waiver,
    payoff_quote,
    replay,
)
from fengkong.servicing.products import load_products
from fengkong.servicing.schedule import LoanTerms, build_schedule
from fengkong.servicing.statement import (
    batch_inputs,
    lawful_periods,
    legal_statement,
    legal_statements,
)

CATALOGUE = load_products()
D = dt.date


def _loan(principal, rate, day, *, term=12, product="cash_loan", **update):
    p = CATALOGUE[product]
    if update:
        p = p.model_copy(update=update)
    return build_schedule(LoanTerms(p, Money.of(principal), Decimal(rate), term, day))


def _statement(schedule, events, as_of, lender="private", **kw):
    state = replay(schedule, events, as_of=as_of)
    return legal_statement(state, jurisdiction="cn", lender_type=lender, **kw)


# --- 1. the upfront deduction is counted twice in the contract's total --------------------


def test_contract_total_does_not_count_the_upfront_deduction_twice():
    """Promise: the deduction (砍头息) is counted once (docs step 1); the contract column of the
    'total' line is what the contract claims, so contract total - paid = contract_owed.

    10,000 at 12 %, 2026-01-01, 10 % (1,000) deducted upfront, nothing paid, statement
    2026-03-01. The contract claims principal 10,000 (the 1,000 fee is inside it) + interest
    100.00 (instalment 1) + 92.12 (instalment 2, due 03-01) + penalty 10.53 (0.39 a day on
    788.49 for 02-02 .. 02-28, 27 days: the statement day's own accrual not counted) =
    10,202.65, which is contract_owed. The 'total' line says 11,203.04: principal 10,000 AND the 1,000 fee
    again on the 'fees' line. Its difference (contract - lawful) says 2,028.46 over the
    lawful 9,174.58, when the contract's claim exceeds it by 1,028.46."""
    s = _loan(
        "10000", "0.12", D(2026, 1, 1), upfront_fee_rate=Decimal("0.1"), upfront_fee_deducted=True
    )
    st_ = _statement(s, [], D(2026, 3, 1))
    total = st_.line("total")
    assert st_.contract_owed == Money.of("10202.65")
    assert total.contract - total.paid == st_.contract_owed
    assert total.contract == Money.of("10202.65")
    assert total.difference == Money.of("1028.07")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rate=st.sampled_from(["0", "0.06", "0.12", "0.24", "0.36"]),
    fee=st.sampled_from(["0.01", "0.05", "0.1"]),
    days=st.integers(min_value=0, max_value=500),
    day=st.sampled_from([D(2019, 3, 1), D(2021, 2, 1), D(2026, 1, 1)]),
)
def test_property_contract_total_minus_paid_is_contract_owed_with_a_deduction(rate, fee, days, day):
    """Promise (property): with nothing paid, the contract column of 'total' is what the
    contract says is owed (contract_owed). Fails for every loan with a deducted upfront fee
    (the deduction is in the principal and again in 'fees')."""
    s = _loan("10000", rate, day, upfront_fee_rate=Decimal(fee), upfront_fee_deducted=True)
    st_ = _statement(s, [], day + dt.timedelta(days=days))
    assert st_.line("total").contract == st_.contract_owed


# --- 2. a statement for a date before the loan existed ------------------------------------


def test_a_statement_before_disbursement_is_refused_or_owes_nothing():
    """Promise: the statement says what the borrower owes as of as_of; before disbursement
    nothing has been received, so nothing is owed (or, like payoff_quote, the date is refused
    naming it). 10,000 disbursed 2026-01-01, statement 2025-12-01: got 'owed 10,000.00'."""
    s = _loan("10000", "0.12", D(2026, 1, 1))
    try:
        st_ = _statement(s, [], D(2025, 12, 1))
    except InvalidArgumentError:
        return
    assert st_.line("total").owed == Money.zero()
    assert st_.line("principal").owed == Money.zero()


# --- 3. a principal waiver is ignored ------------------------------------------------------


def test_waived_principal_is_not_owed():
    """Promise: the statement answers 'what do I lawfully owe?'; principal the lender waived is
    not owed, and lawful charges accrue on the principal actually outstanding.

    10,000 at 12 %, 2026-01-01; Waiver of 2,000 principal on 01-15; statement 01-20.
    01-01..01-14: 14 days on 10,000: 10,000 x 0.12 x 14 / 365 = 46.0274
    01-15..01-19: 5 days on 8,000: 8,000 x 0.12 x 5 / 365 = 13.1507
    lawful charges 59.1781 -> 59.18 (the contract's 100.00 x 19 / 31 = 61.29 is more).
    Owed 8,000 + 59.18 = 8,059.18. Got principal owed 10,000.00, total 10,061.29."""
    s = _loan("10000", "0.12", D(2026, 1, 1))
    ev = [Waiver(D(2026, 1, 15), "principal", Money.of("2000"), key="w")]
    st_ = _statement(s, ev, D(2026, 1, 20))
    assert replay(s, ev, as_of=D(2026, 1, 20)).outstanding_principal == Money.of("8000")
    assert st_.line("principal").owed == Money.of("8000")
    assert st_.line("charges").lawful == Money.of("59.18")
    assert st_.line("total").owed == Money.of("8059.18")


# --- 4. a reschedule wipes the charges accrued before it -----------------------------------


def test_a_reschedule_does_not_erase_the_charges_accrued_before_it():
    """Promise: the lawful charges are accrued day by day on the principal outstanding, capped
    by what the contract charged to date; a re-age (Reschedule) capitalises the unpaid charges,
    it does not forgive them.

    10,000 at 12 %, 2026-01-01, nothing paid, statement 2026-04-01 (31 + 28 + 31 = 90 days):
    lawful 10,000 x 0.12 x 90 / 365 = 295.8904 -> 295.89; the contract charged 311.37
    (interest 276.27 + penalty 35.10). Without a reschedule the statement says exactly that.
    With Reschedule(2026-04-01, 12 months) the contract's charges to date become 0.00 (they
    moved into the new instalments' 'principal'), so the lawful charges become 0.00 and the
    borrower is told he owes 10,000.00 — while payoff_quote on the same day says 10,696.18."""
    s = _loan("10000", "0.12", D(2026, 1, 1), reage_policy="none")  # re-age limits apart
    plain = _statement(s, [], D(2026, 4, 1))
    assert plain.line("charges").lawful == Money.of("295.89")
    ev = [Reschedule(D(2026, 4, 1), 12, key="rs")]
    st_ = _statement(s, ev, D(2026, 4, 1))
    # 276.27 interest + 34.32 penalty to the start of 04-01 (the statement day's own accrual
    # not counted); the reschedule capitalises the interest and keeps the penalty owed apart
    assert st_.line("charges").contract == Money.of("310.59")
    assert st_.line("charges").lawful == Money.of("295.89")
    assert st_.line("total").owed == Money.of("10295.89")
    assert st_.contract_owed == payoff_quote(s, ev, on=D(2026, 4, 1)).total


# --- 5. the contract's penalty counts the statement day ------------------------------------


def test_the_contract_penalty_does_not_count_the_statement_day():
    """Promise (docs step 2 and payoff_quote): days from disbursement (counted) to the
    statement date (not counted); the contract's figures 'to date' use the same convention as
    its interest (pro rata excluding as_of) and as payoff_quote ('the end of day of on does
    not count').

    10,000 at 12 %, 2026-01-01, instalment 1 (due 02-01, principal 788.49) unpaid, statement
    02-10. Penalty per day 788.49 x 0.18 / 365 = 0.3888 -> 0.39; days 02-02 .. 02-09 = 8:
    3.12. Interest 100.00 + 92.12 x 9 / 28 = 29.61 -> 129.61. Contract owed 10,132.73 (=
    payoff_quote). Got penalty 3.51 (9 days, 02-10 included) and contract_owed 10,133.12."""
    s = _loan("10000", "0.12", D(2026, 1, 1))
    as_of = D(2026, 2, 10)
    st_ = _statement(s, [], as_of)
    assert st_.line("penalty").contract == Money.of("3.12")
    assert st_.contract_owed == payoff_quote(s, [], on=as_of).total == Money.of("10132.73")


# --- 6. payments absorbed by cap-rate charges the contract never charged ---------------------


def test_a_payment_does_not_pay_charges_the_contract_had_not_charged_zero_rate():
    """Promise (docs step 3, Civil Code art. 561): a payment goes first to the charges accrued
    by its date — charges the lender could lawfully claim then, i.e. never more than the
    contract had charged by that date (docs step 2: lawful <= contract) — then to principal.

    12,000 at 0 % (cash_loan), 2026-01-01. Instalment 1 (1,000.00, all principal) paid 02-01.
    FeeCharge 3,000 on instalment 2 posted 02-15. Statement 04-01.
    On 02-01 the contract had charged nothing: the 1,000 is all principal -> 11,000.
    Lawful accrual: 01-01..01-31: 31 days on 12,000: 12,000 x 0.12 x 31 / 365 = 122.3014;
    02-01..03-31: 28 + 31 = 59 days on 11,000: 11,000 x 0.12 x 59 / 365 = 213.3699;
    together 335.6712 -> 335.67 (< the 3,000 fee charged: the cap binds). Owed 11,000 +
    335.67 = 11,335.67. Got: 122.30 of the 1,000 put to charges that did not exist on 02-01,
    principal 11,122.30 accruing 2.37 more: owed 11,338.04."""
    s = _loan("12000", "0", D(2026, 1, 1))
    first = s.instalments[0]
    assert first.total == Money.of("1000")
    ev = [
        Repayment(first.due_on, first.total, key="p1"),
        FeeCharge(D(2026, 2, 15), Money.of("3000"), 2, key="f"),
    ]
    st_ = _statement(s, ev, D(2026, 4, 1))
    assert st_.line("principal").paid == Money.of("1000")
    assert st_.line("charges").lawful == Money.of("335.67")
    assert st_.line("total").owed == Money.of("11335.67")


def test_a_payment_does_not_pay_charges_the_contract_had_not_charged_low_rate_default():
    """Same promise, an ordinary case: a loan below the cap that later defaults.

    10,000 at 10 % (cap 12 %), 2026-01-01; instalment 1 of 879.16 (83.33 interest + 795.83
    principal) paid on 02-01; nothing more; statement 2030-01-01. Years of 15 % penalty push
    the contract's charges (5,273.51) above the lawful amount, so the cap binds.
    On 02-01 the contract had charged 83.33: the payment is 83.33 charges + 795.83 principal
    -> 9,204.17 (the statement instead took 101.92, the 12 % accrual, and credited 777.24).
    Lawful accrual: 01-01..01-31: 10,000 x 0.12 x 31 / 365 = 101.9178;
    2026-02-01..2029-12-31: 1,430 days (4 x 365 + 1 leap day - 31) on 9,204.17:
    9,204.17 x 0.12 x 1,430 / 365 = 4,327.2207; together 4,429.1385 -> 4,429.14.
    Owed 9,204.17 + (4,429.14 - 83.33) = 13,549.98. Got 13,558.72."""
    s = _loan("10000", "0.10", D(2026, 1, 1))
    first = s.instalments[0]
    assert (first.total, first.interest) == (Money.of("879.16"), Money.of("83.33"))
    st_ = _statement(s, [Repayment(first.due_on, first.total, key="p1")], D(2030, 1, 1))
    assert st_.line("charges").contract > st_.line("charges").lawful  # the cap binds
    assert st_.line("principal").paid == Money.of("795.83")
    assert st_.line("charges").paid == Money.of("83.33")
    assert st_.line("charges").lawful == Money.of("4429.14")
    assert st_.line("total").owed == Money.of("13549.98")


def test_2015_band_is_not_filled_by_a_payment_when_the_contract_charged_less():
    """Same promise under the 2015 rule: the 24-36 % band is 'kept if paid' only for charges
    the contract actually charged. 10,000 at 20 %, 2019-01-01, instalment 1 paid on 02-01.
    The contract charged 10,000 x 20 % / 12 = 166.67 interest by then; the statement puts
    305.75 of the payment to charges (24 %: 203.84 + band to 36 %: 101.91) at the payment
    date, and nothing else is ever paid, so the statement as of 2030-01-01 (when years of
    30 % penalty make the contract's charges exceed the lawful ones) still shows 305.75 of
    charges paid (101.91 of them 'kept' in the 24-36 % band): 139.08 more than the interest
    the contract charged at the time. Expected: charges paid <= 166.67, principal paid >= instalment - 166.67."""
    s = _loan("10000", "0.20", D(2019, 1, 1))
    first = s.instalments[0]
    assert first.interest == Money.of("166.67")
    st_ = _statement(s, [Repayment(first.due_on, first.total, key="p1")], D(2030, 1, 1))
    assert st_.line("charges").paid <= Money.of("166.67")
    assert st_.line("principal").paid >= first.total - Money.of("166.67")


# --- 7. filing dates --------------------------------------------------------------------------


def test_a_suit_filed_before_2020_08_20_is_judged_by_the_2015_rule_throughout():
    """Promise (DOMAIN.md, docs step 4; SPC provisions art. 31 as revised 2020): the split at
    2020-08-20 (2015 rule before, 4 x LPR at filing after) is for a contract formed before
    2020-08-20 AND brought to court after it. A suit filed before 2020-08-20 (accepted under
    the 2015 interpretation) is judged by the 2015 rule for the whole period. (Note:
    test_statement.py currently asserts the opposite — an error naming filed_on.)

    10,000 at 36 %, 2019-06-01, never paid, filed 2020-06-01, statement 2021-06-01:
    2019-06-01 .. 2021-05-31: 366 + 365 = 731 days at 24 %: 10,000 x 0.24 x 731 / 365 =
    4,806.5753 -> 4,806.58. Got: InvalidArgumentError (filed_on)."""
    s = _loan("10000", "0.36", D(2019, 6, 1))
    st_ = _statement(s, [], D(2021, 6, 1), filed_on=D(2020, 6, 1))
    assert [p.rule_set for p in st_.periods] == ["cn-private-2015"]
    assert st_.line("charges").lawful == Money.of("4806.58")


def test_a_filing_date_before_the_contract_is_refused():
    """Promise: filed_on is 'the date a suit is filed'; a suit on a contract cannot be filed
    before the contract was formed. 2021-03-01 contract, filed_on 2000-01-01: accepted and
    printed on the statement (filed_on=2000-01-01). Expected InvalidArgumentError naming
    filed_on (as the function already does for straddling contracts)."""
    s = _loan("10000", "0.12", D(2021, 3, 1))
    try:
        st_ = _statement(s, [], D(2021, 6, 1), filed_on=D(2000, 1, 1))
    except InvalidArgumentError as e:
        assert "filed_on" in str(e)
        return
    raise AssertionError(f"accepted filed_on {st_.filed_on} before the contract (2021-03-01)")


def test_lawful_periods_refuse_a_filing_before_the_contract():
    """lawful_periods directly: contract 2021-03-01, filed_on 2000-01-01 — no error."""
    try:
        lawful_periods("cn", "private", D(2021, 3, 1), as_of=D(2021, 6, 1), filed_on=D(2000, 1, 1))
    except InvalidArgumentError:
        return
    raise AssertionError("a filing date before the contract was accepted")


# --- 8. the batch path (passes today: kept as a guard over every event kind) ----------------


def _batch(cases, as_of):
    return legal_statements(
        **batch_inputs([state for _, state in cases]),
        as_of=as_of,
        jurisdiction="cn",
        lender_type="private",
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    product=st.sampled_from(list(CATALOGUE)),
    rate=st.sampled_from(["0", "0.12", "0.36"]),
    day=st.sampled_from([D(2019, 3, 1), D(2026, 1, 1)]),
    deduct=st.sampled_from([None, True, False]),
    pay=st.lists(st.tuples(st.integers(0, 400), st.integers(1, 500_000)), max_size=4),
    after=st.integers(0, 900),
)
def test_property_batch_equals_per_loan(product, rate, day, deduct, pay, after):
    """Promise: legal_statements gives legal_statement's figures (docs 'A whole book')."""
    p = CATALOGUE[product]
    update = {}
    if deduct is not None:
        update = {"upfront_fee_rate": Decimal("0.05"), "upfront_fee_deducted": deduct}
    s = _loan("10000", rate, day, term=p.min_term, product=product, **update)
    as_of = day + dt.timedelta(days=after)
    events = [
        Repayment(day + dt.timedelta(days=d), Money.from_minor(a, "CNY"), key=f"p{k}")
        for k, (d, a) in enumerate(pay)
    ]
    try:
        state = replay(s, events, as_of=as_of)
    except InvalidArgumentError:
        return
    one = legal_statement(state, jurisdiction="cn", lender_type="private")
    row = _batch([(s, state)], as_of).row(0, named=True)
    assert row["lawful_charges_fen"] == one.line("charges").lawful.minor
    assert row["contract_charges_fen"] == one.line("charges").contract.minor
    assert row["owed_fen"] == one.line("total").owed.minor
    assert row["paid_fen"] == one.line("total").paid.minor
    assert row["refundable_fen"] == one.line("total").refundable.minor
    assert row["contract_owed_fen"] == one.contract_owed.minor
