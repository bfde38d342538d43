"""Hardship plans and re-ageing limits (issue 23 part 6), hand-worked.

The loan of most cases: 10,000.00 at 12 % a year, 12 monthly equal instalments from 2026-01-01
(cash_loan, 30/360: interest 1 % a month), instalment 888.49. Nothing paid: on 2026-04-01
instalments 1-3 (due 02-01, 03-01, 04-01) are unpaid:

- interest fallen due 100.00 + 92.12 + 84.15 = 276.27;
- penalty (0.18 a year on overdue principal, to the fen per day): instalment 1's 788.49 x 0.18
  / 365 = 0.3888 -> 0.39 a day x 58 days (02-02..03-31) = 22.62; instalment 2's 796.37 x 0.18
  / 365 = 0.3927 -> 0.39 x 30 days (03-02..03-31) = 11.70; together 34.32 (04-01's own day is
  not in a payoff on 04-01);
- payoff on 04-01: 10,000.00 + 276.27 + 34.32 = 10,310.59.
"""

import datetime as dt
from decimal import Decimal

import pytest

from fengkong.errors import InvalidArgumentError
from fengkong.money import Money
from fengkong.servicing import HardshipPlan, legal_statement
from fengkong.servicing.forbearance import check_reage, plan_lines, reage_policy
from fengkong.servicing.ledger import Repayment, Reschedule, payoff_quote, replay
from fengkong.servicing.products import load_products
from fengkong.servicing.schedule import LoanTerms, build_schedule

D = dt.date
CASH = load_products()["cash_loan"]
APR1 = D(2026, 4, 1)


def loan(**update):
    product = CASH.model_copy(update=update) if update else CASH
    return build_schedule(LoanTerms(product, Money.of("10000"), Decimal("0.12"), 12, D(2026, 1, 1)))


def kept_unpaid(state, component, on):
    return sum(i.due[component] - i.paid[component] for i in state.instalments if i.due_on <= on)


def test_the_loan_of_these_cases():
    s = loan()
    assert s.instalments[0].total == Money.of("888.49")
    q = payoff_quote(s, [], on=APR1)
    assert (str(q.interest), str(q.penalty), str(q.total)) == (
        "CNY 276.27",
        "CNY 34.32",
        "CNY 10,310.59",
    )


def test_a_reschedule_no_longer_capitalises_unearned_interest_or_penalties():
    """Before the fix the payoff right after Reschedule(04-01, 12) was 10,696.18: the old
    instalments' future interest had become principal. Now it is the payoff right before."""
    s = loan(reage_policy="none")
    ev = [Reschedule(APR1, 12, key="rs")]
    assert payoff_quote(s, ev, on=APR1).total == Money.of("10310.59")
    state = replay(s, ev, as_of=D(2026, 4, 20))
    new = [i for i in state.instalments if i.due_on > APR1]
    assert sum(i.due["principal"] for i in new) == 1_000_000  # only principal re-amortised
    assert new[0].due["interest"] == 10000  # 10,000.00 x 1 %, the first new month (05-01)
    # penalties stay owed on their own, bearing no interest and growing no more (principal moved)
    assert kept_unpaid(state, "penalty", APR1) == 3432
    assert kept_unpaid(state, "interest", APR1) == 27627
    assert state.capitalised == () and state.dpd == 0 and state.status == "rescheduled"
    # the arrears fall due with the first new instalment (05-01): unpaid, the loan is 1 DPD on 05-02
    assert {i.due_date for i in state.instalments if i.due_on <= APR1} == {D(2026, 5, 1)}
    assert replay(s, ev, as_of=D(2026, 5, 2)).dpd == 1


def test_a_product_that_capitalises_penalties_records_it():
    """capitalise_penalties: the 34.32 joins the principal (10,034.32) with a record; the
    interest fallen due stays owed. The payoff is unchanged; the legal statement counts
    principal above the contract's as a charge, so the caps still hold."""
    s = loan(reage_policy="none", capitalise_penalties=True)
    ev = [Reschedule(APR1, 12, key="rs")]
    state = replay(s, ev, as_of=APR1)
    # one record per instalment: 22.62 of instalment 1 and 11.70 of instalment 2
    assert state.capitalised == ((APR1, "penalty", 2262), (APR1, "penalty", 1170))
    assert sum(i.due["principal"] for i in state.instalments) == 1_003_432
    assert kept_unpaid(state, "penalty", APR1) == 0
    assert kept_unpaid(state, "interest", APR1) == 27627
    assert payoff_quote(s, ev, on=APR1).total == Money.of("10310.59")
    both = loan(reage_policy="none", capitalise_penalties=True, capitalise_arrears=True)
    state = replay(both, ev, as_of=APR1)
    assert sum(fen for _, _, fen in state.capitalised) == 27627 + 3432
    assert sum(i.due["principal"] for i in state.instalments) == 1_031_059
    # the legal statement still caps every charge: principal above the contract's 10,000 counts
    # as a charge; lawful 10,000 x 0.12 x 90 / 365 days (01-01..03-31) = 295.8904 -> 295.89
    statement = legal_statement(state, jurisdiction="cn", lender_type="private")
    assert statement.line("charges").contract == Money.of("310.59")
    assert statement.line("charges").lawful == Money.of("295.89")
    assert statement.line("total").owed == Money.of("10295.89")


def test_a_hardship_plan_with_interest_frozen():
    """HardshipPlan(04-01, 3 months, rate 0, share 0.5). Nine instalments were still to fall
    due (05-01 .. 2027-01-01): level principal 10,000.00 / 9 x 0.5 = 555.555 -> 555.56 a month,
    interest 0, on 05-01, 06-01, 07-01. Then 10,000.00 - 3 x 555.56 = 8,333.32 re-amortised at
    12 % over 9 months from 07-01 (the term is extended by the plan's 3 months: last due
    2027-04-01); first resumed interest 8,333.32 x 1 % = 83.33. The arrears (276.27 + 34.32)
    are due with the first resumed instalment on 08-01."""
    s = loan(reage_policy="none")
    ev = [HardshipPlan(APR1, 3, key="hp")]
    assert payoff_quote(s, ev, on=APR1).total == Money.of("10310.59")
    state = replay(s, ev, as_of=APR1)
    assert state.status == "rescheduled" and state.dpd == 0 and state.reages == (APR1,)
    plan = [i for i in state.instalments if APR1 < i.due_on <= D(2026, 7, 1)]
    assert [(i.due_on, i.due["interest"], i.due["principal"]) for i in plan] == [
        (D(2026, 5, 1), 0, 55556),
        (D(2026, 6, 1), 0, 55556),
        (D(2026, 7, 1), 0, 55556),
    ]
    resumed = [i for i in state.instalments if i.due_on > D(2026, 7, 1)]
    assert len(resumed) == 9 and resumed[-1].due_on == D(2027, 4, 1)
    assert resumed[0].due_on == D(2026, 8, 1) and resumed[0].due["interest"] == 8333
    assert sum(i.due["principal"] for i in resumed) == 1_000_000 - 3 * 55556
    assert {i.due_date for i in state.instalments if i.due_on <= APR1} == {D(2026, 8, 1)}


def test_the_plan_instalments_paid_then_resumption():
    """Each 555.56 paid on its date pays its plan line (the deferred arrears are not due yet):
    DPD 0 through 07-31. On 08-01 the arrears and the first resumed instalment fall due;
    unpaid, the loan is 1 DPD on 08-02 (counted from 08-01). Missing a plan instalment counts
    from its own date: nothing paid, DPD on 05-11 is 10."""
    s = loan(reage_policy="none")
    plan = HardshipPlan(APR1, 3, key="hp")
    paid = [Repayment(D(2026, m, 1), Money.of("555.56"), key=f"p{m}") for m in (5, 6, 7)]
    state = replay(s, [plan, *paid], as_of=D(2026, 7, 31))
    assert state.dpd == 0 and state.status == "rescheduled"
    assert replay(s, [plan, *paid], as_of=D(2026, 8, 2)).dpd == 1
    assert replay(s, [plan], as_of=D(2026, 5, 11)).dpd == 10
    due = payoff_quote(s, [plan, *paid], on=D(2026, 7, 31))
    assert due.penalty == Money.of("34.32")  # no penalty grew on the deferred arrears


def test_a_hardship_plan_with_a_reduced_rate_mid_period():
    """HardshipPlan(04-15, 3 months, rate 6 %). On 04-15 instalment 4 (due 05-01, interest
    7,610.80 x 1 % = 76.11) has earned 76.11 x 14 / 30 days = 35.518 -> 35.51 (rounded down, as
    the payoff does): it is kept on a line due 04-15, owed with the other arrears. Plan lines
    from 05-15: interest 10,000.00 x 6 % / 12 = 50.00, then 9,444.44 x 0.5 % = 47.2222 ->
    47.22, then 8,888.88 x 0.5 % = 44.4444 -> 44.44; principal 555.56 each."""
    s = loan(reage_policy="none")
    on = D(2026, 4, 15)
    ev = [HardshipPlan(on, 3, key="hp", rate=Decimal("0.06"))]
    assert payoff_quote(s, ev, on=on).total == payoff_quote(s, [], on=on).total
    state = replay(s, ev, as_of=on)
    bridge = [i for i in state.instalments if i.due_on == on]
    assert len(bridge) == 1 and bridge[0].due["interest"] == 3551
    plan = [i for i in state.instalments if on < i.due_on <= D(2026, 7, 15)]
    assert [(i.due["interest"], i.due["principal"]) for i in plan] == [
        (5000, 55556),
        (4722, 55556),
        (4444, 55556),
    ]
    with pytest.raises(InvalidArgumentError, match="rate"):  # above the contract rate
        replay(s, [HardshipPlan(on, 3, key="hp", rate=Decimal("0.2"))], as_of=on)
    with pytest.raises(InvalidArgumentError, match="months"):
        replay(s, [HardshipPlan(on, 0, key="hp")], as_of=on)


def _behind_then_paying(months=(4, 5, 6)):
    """Instalments 1 and 2 missed, then 888.49 paid on the 1st of each of ``months``."""
    return [Repayment(D(2026, m, 1), Money.of("888.49"), key=f"p{m}") for m in months]


def test_a_re_age_needs_three_qualifying_payments():
    """FFIEC 2000 (the default policy): three consecutive monthly payments of at least the
    instalment (888.49) in the re-age's month and the two before. Paid 04-01, 05-01, 06-01: a
    plan on 06-10 is allowed. Paid only 05-01 and 06-01 (1,776.98 < 3 x 888.49 = 2,665.47):
    refused, naming ``on``."""
    s = loan()
    plan = HardshipPlan(D(2026, 6, 10), 3, key="hp")
    state = replay(s, [*_behind_then_paying(), plan], as_of=D(2026, 6, 10))
    assert state.status == "rescheduled" and state.dpd == 0
    with pytest.raises(InvalidArgumentError, match="3 consecutive monthly payments") as info:
        replay(s, [*_behind_then_paying((5, 6)), plan], as_of=D(2026, 6, 10))
    assert info.value.field == "on"
    with pytest.raises(InvalidArgumentError, match="consecutive"):  # a reschedule alike
        replay(s, [Reschedule(APR1, 12, key="rs")], as_of=APR1)


def test_a_second_re_age_within_twelve_months_is_refused():
    """Re-aged 06-10; three more qualifying payments (07-10, 08-10, 09-10 of 1,000.00 each,
    above the plan's instalment) do not allow another before 2027-06-10: once in 12 months."""
    s = loan()
    plan = HardshipPlan(D(2026, 6, 10), 3, key="hp")
    more = [Repayment(D(2026, m, 10), Money.of("1000"), key=f"q{m}") for m in (7, 8, 9)]
    again = Reschedule(D(2026, 9, 20), 12, key="rs")
    with pytest.raises(InvalidArgumentError, match="1 in 12 months") as info:
        replay(s, [*_behind_then_paying(), plan, *more, again], as_of=D(2026, 9, 20))
    assert info.value.field == "on"


def test_a_third_re_age_within_five_years_is_refused():
    """Re-aged 2026-06-10 and 2027-07-10: a third on 2028-08-10 is refused (twice in 5 years,
    none in the last 12 months); on 2031-06-11 the first has left the five years
    (2026-06-11 .. 2031-06-11) and it is allowed."""
    policy = reage_policy("ffiec_2000")
    earlier = [D(2026, 6, 10), D(2027, 7, 10)]
    with pytest.raises(InvalidArgumentError, match="2 in 5 years"):
        check_reage(policy, D(2028, 8, 10), earlier=earlier, payments=[], instalment_fen=0)
    check_reage(policy, D(2031, 6, 11), earlier=earlier, payments=[], instalment_fen=0)
    none = reage_policy("none")
    check_reage(none, D(2026, 6, 11), earlier=earlier * 5, payments=[], instalment_fen=10**6)


def test_an_unknown_policy_is_refused_naming_the_field():
    with pytest.raises(InvalidArgumentError, match="reage_policy"):
        reage_policy("lenient")
    with pytest.raises(ValueError, match="reage_policy"):
        CASH.model_validate({**CASH.model_dump(), "reage_policy": "lenient"})


def test_plan_lines_take_the_last_fen():
    """A share of 1 over a term equal to the months pays the balance off: 1,000.00 / 3 =
    333.33 a month, the last line capped at what is left (333.34 would overpay: it takes
    333.33 and 0.01 stays for the resumption)."""
    lines = plan_lines(100_000, APR1, 3, Decimal(0), Decimal(1), 3)
    assert [p for _, _, p in lines] == [33333, 33333, 33333]
