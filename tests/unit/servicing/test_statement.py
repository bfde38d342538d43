"""legal_statement: the lawful amount to the fen, golden cases worked by hand.

Conventions (docs/servicing.md, "The legal statement"): charges lawful at the cap accrue on the
principal actually received and outstanding, actual/365, for the days from disbursement (counted)
to the statement date (not counted); each payment goes to the charges accrued by its date, then
to principal (Civil Code art. 561); amounts are rounded half to even to the fen once, at each
payment and at the end. Day counts are stated in each test.
"""

import datetime as dt
from decimal import Decimal

import pytest

from fengkong.errors import InvalidArgumentError
from fengkong.money import Money
from fengkong.servicing.ledger import Prepayment, Repayment, replay
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


def _loan(principal: str, rate: str, day: dt.date, *, deducted: str | None = None):
    product = CATALOGUE["cash_loan"]
    if deducted:
        product = product.model_copy(
            update={"upfront_fee_rate": Decimal(deducted), "upfront_fee_deducted": True}
        )
    return build_schedule(LoanTerms(product, Money.of(principal), Decimal(rate), 12, day))


def _statement(schedule, events, as_of, lender="private", **kw):
    state = replay(schedule, events, as_of=as_of)
    return legal_statement(state, jurisdiction="cn", lender_type=lender, **kw)


def _fen(money: Money) -> int:
    return money.minor


def test_lawful_interest_continues_after_maturity_across_the_2020_transition():
    """Issue case: a 2019 loan at 36 %, never paid, as of 2021-06-01 showed lawful charges of
    1,374.57 and nothing for the year after maturity.

    10,000 received 2019-06-01, nothing paid, statement 2021-06-01 (filing = statement date).
    2019-06-01 .. 2020-08-19: 30 + 31 + 31 + 30 + 31 + 30 + 31 = 214 days of 2019, 232 of 2020,
    446 days at 24 % (2015 rule, enforceable part): 10,000 x 0.24 x 446 / 365 = 2,932.6027
    2020-08-20 .. 2021-05-31: 12 + 30 + 31 + 30 + 31 + 31 + 28 + 31 + 30 + 31 = 285 days at
    4 x LPR on 2021-06-01 (3.85 %) = 15.40 %: 10,000 x 0.154 x 285 / 365 = 1,202.4658
    together 4,135.0685 -> 4,135.07 (the contract charges far more to date).
    Owed: 10,000 + 4,135.07 = 14,135.07."""
    st = _statement(_loan("10000", "0.36", D(2019, 6, 1)), [], D(2021, 6, 1))
    assert [p.rule_set for p in st.periods] == ["cn-private-2015", "cn-private-2020"]
    assert st.periods[0].end == D(2020, 8, 20) and st.periods[1].enforceable == Decimal("0.1540")
    assert st.line("charges").lawful == Money.of("4135.07")
    assert st.line("total").owed == Money.of("14135.07")
    assert st.line("total").refundable == Money.zero()
    assert any("straddles 2020-08-20" in n for n in st.notes)


def test_a_loan_formed_in_january_2019_as_well():
    """10,000 received 2019-01-01, never paid, statement 2021-06-01: 365 + 232 = 597 days at
    24 % (3,925.4795) and 285 days at 15.40 % (1,202.4658): 5,127.9453 -> 5,127.95."""
    st = _statement(_loan("10000", "0.36", D(2019, 1, 1)), [], D(2021, 6, 1))
    assert st.line("charges").lawful == Money.of("5127.95")
    assert st.line("total").owed == Money.of("15127.95")


def test_overdue_principal_during_the_term_accrues_lawful_charges():
    """Issue case: a 2026 loan at 12 % never paid showed 659.28 lawful charges against
    1,200.00 by hand.

    10,000 received 2026-01-01, statement 2027-01-01: 365 days. Cap 4 x LPR at formation
    (3.00 % from 2025-05-20) = 12 %: 10,000 x 0.12 x 365 / 365 = 1,200.00. The contract
    charged 661.86 interest and 806.31 penalty interest to the start of the statement day
    (1,468.17): the cap binds."""
    st = _statement(_loan("10000", "0.12", D(2026, 1, 1)), [], D(2027, 1, 1))
    assert st.line("charges").contract == Money.of("1468.17")
    assert st.line("charges").lawful == Money.of("1200.00")
    assert st.line("total").owed == Money.of("11200.00")
    assert st.contract_owed == Money.of("11468.17")


def test_the_upfront_deduction_is_counted_once():
    """Issue case: a borrower who received 9,000 of a 10,000 loan (1,000 deducted upfront) and
    paid nothing was shown owing 8,230.68: the 1,000 was both cut from principal and counted
    as paid.

    9,000 received 2026-01-01, statement 2026-03-01: 31 + 28 = 59 days at 12 %:
        9,000 x 0.12 x 59 / 365 = 174.5753 -> 174.58; owed 9,000 + 174.58 = 9,174.58.
    Nothing was paid: the deduction is not a payment."""
    st = _statement(_loan("10000", "0.12", D(2026, 1, 1), deducted="0.1"), [], D(2026, 3, 1))
    assert st.line("principal").contract == Money.of("10000")
    assert st.line("principal").lawful == Money.of("9000")
    assert st.line("total").paid == Money.zero()
    assert st.line("fees").lawful == Money.zero()  # the deducted 1,000 is not a lawful fee
    assert st.line("total").owed == Money.of("9174.58")
    assert any("砍头息" in n and "not a payment" in n for n in st.notes)


def test_interest_paid_between_24_and_36_percent_is_kept_not_refunded():
    """Issue case: under the 2015 rules a borrower who paid a 36 % loan on time was told
    "Paid CNY 680.88 more than the enforceable amount".

    10,000 at 36 %, 2019-01-01, three instalments of 1,004.62 paid on their due dates. A payment
    pays charges accrued at the caps, but never more than the contract had charged by then.
    02-01 (31 days on 10,000): 24 %: 203.8356 -> 203.84 enforceable; 36 %: 305.7534, but the
        contract had charged 300.00: band 300.00 - 203.84 = 96.16; principal 704.62 -> 9,295.38.
    03-01 (28 days on 9,295.38): 24 % adds 171.1369 (total 374.9725 -> 374.97, owed 171.13);
        36 % adds 256.7053 (total 562.4587 -> 562.46; the contract had charged 578.86): band
        562.46 - 374.97 - 96.16 = 91.33; principal 1,004.62 - 171.13 - 91.33 = 742.16 -> 8,553.22.
    04-01 (31 days on 8,553.22): 24 % adds 174.3448 (total 549.3173 -> 549.32, owed 174.35);
        36 % adds 261.5172 (total 823.9759 -> 823.98; charged 835.95): band 823.98 - 549.32 -
        187.49 = 87.17; principal 743.10.
    Lawful charges 549.32; charges kept 823.98 (274.66 of it in the band: not refundable);
    principal paid 2,189.88; owed 7,810.12; refundable 0."""
    s = _loan("10000", "0.36", D(2019, 1, 1))
    paid = [Repayment(i.due_on, i.total, key=f"p{i.number}") for i in s.instalments[:3]]
    st = _statement(s, paid, D(2019, 4, 1))
    assert st.line("charges").lawful == Money.of("549.32")
    assert st.line("charges").paid == Money.of("823.98")
    assert st.line("principal").paid == Money.of("2189.88")
    assert st.line("total").owed == Money.of("7810.12")
    assert st.line("total").refundable == Money.zero()
    assert any("274.66" in n and "not refundable" in n for n in st.notes)
    assert not any("refundable." in n and "beyond" in n for n in st.notes)


def test_a_contract_straddling_2020_08_20_uses_the_lpr_at_filing():
    """10,000 at 36 %, 2019-06-01, never paid, statement 2022-06-01.
    2019-06-01 .. 2020-08-19: 214 + 232 = 446 days at 24 %: 2,932.6027.
    2020-08-20 .. 2022-05-31: 365 + 285 = 650 days at 4 x LPR at filing:
      filed 2022-06-01 (LPR 3.70 %, 14.80 %): 10,000 x 0.148 x 650 / 365 = 2,635.6164
        -> 5,568.2191 -> 5,568.22;
      filed 2021-06-01 (LPR 3.85 %, 15.40 %): 2,742.4658 -> 5,675.0685 -> 5,675.07."""
    s = _loan("10000", "0.36", D(2019, 6, 1))
    assert _statement(s, [], D(2022, 6, 1)).line("charges").lawful == Money.of("5568.22")
    earlier = _statement(s, [], D(2022, 6, 1), filed_on=D(2021, 6, 1))
    assert earlier.line("charges").lawful == Money.of("5675.07")
    assert earlier.filed_on == D(2021, 6, 1)
    # a suit filed before 2020-08-20 keeps the 2015 rule throughout (art. 31 reaches cases
    # accepted after it): 1,096 days at 24 %: 10,000 x 0.24 x 1,096 / 365 = 7,206.5753
    before = _statement(s, [], D(2022, 6, 1), filed_on=D(2020, 6, 1))
    assert [p.rule_set for p in before.periods] == ["cn-private-2015"]
    assert before.line("charges").lawful == Money.of("7206.58")
    with pytest.raises(InvalidArgumentError, match="filed_on"):
        _statement(s, [], D(2022, 6, 1), filed_on=D(2019, 1, 1))  # before the contract


def test_a_licensed_lender_2019_contract_applies_a_rule():
    """Issue case: cn/licensed for a 2019 contract raised an error.
    10,000 at 36 %, 2019-01-01, never paid, statement 2020-01-01: 365 days at the 24 % all-in
    ceiling (Fa Fa [2017] No. 22 art. 2, marked verify): 2,400.00."""
    st = _statement(_loan("10000", "0.36", D(2019, 1, 1)), [], D(2020, 1, 1), lender="licensed")
    assert st.rule_set == "cn-licensed-2017"
    assert st.line("charges").lawful == Money.of("2400.00")
    assert any("verify" in n for n in st.notes)


def test_a_partly_paid_loan():
    """12,000 at 24 % (above the 12 % cap), 2026-01-01, the first instalment of 1,134.72 paid
    on 02-01, statement 03-01.
    02-01 (31 days on 12,000 at 12 %): 122.3014 -> 122.30; principal 1,134.72 - 122.30 =
        1,012.42 -> 10,987.58.
    03-01 (28 days on 10,987.58): 101.1451; total 223.4465 -> 223.45, owed 101.15.
    Owed 10,987.58 + 101.15 = 11,088.73."""
    s = _loan("12000", "0.24", D(2026, 1, 1))
    first = s.instalments[0]
    assert first.total == Money.of("1134.72")
    st = _statement(s, [Repayment(first.due_on, first.total, key="p1")], D(2026, 3, 1))
    assert st.line("principal").paid == Money.of("1012.42")
    assert st.line("charges").lawful == Money.of("223.45")
    assert st.line("charges").owed == Money.of("101.15")
    assert st.line("total").owed == Money.of("11088.73")


def test_a_loan_paid_off_early_owes_nothing_and_overpaid_nothing():
    """12,000 at 12 %, 2026-01-01, paid off on 2026-01-04 (3 days). The contract's interest
    for the actual period: 120.00 x 3 / 31 = 11.61; lawful at 12 %: 12,000 x 0.12 x 3 / 365 =
    11.8356 -> 11.84, more than the contract charged, so 11.61 is lawful. Owed 0, refundable 0."""
    s = _loan("12000", "0.12", D(2026, 1, 1))
    st = _statement(s, [Prepayment(D(2026, 1, 4), key="off")], D(2026, 3, 1))
    assert st.line("charges").lawful == Money.of("11.61")
    assert st.line("total").paid == Money.of("12011.61")
    assert st.line("total").owed == Money.zero() and st.line("total").refundable == Money.zero()


def test_paid_above_the_2020_cap_is_refundable_once_principal_is_repaid():
    """10,000 at 36 % (cap 12 %), 2026-01-01, all twelve instalments paid on time: the lawful
    charges are 12 % a year on the principal outstanding between payments (584.03 by the
    path); everything paid beyond 10,000 + 584.03 is refundable."""
    s = _loan("10000", "0.36", D(2026, 1, 1))
    paid = [Repayment(i.due_on, i.total, key=f"p{i.number}") for i in s.instalments]
    st = _statement(s, paid, D(2027, 1, 1))
    total = st.line("total")
    assert total.owed == Money.zero()
    assert st.line("charges").lawful == Money.of("584.03")
    assert total.refundable == total.paid - Money.of("10000") - Money.of("584.03")
    assert any("refundable" in n for n in st.notes)


def test_a_lawful_loan_owes_the_same_either_way():
    s = _loan("10000", "0.10", D(2026, 1, 1))
    paid = [Repayment(i.due_on, i.total, key=f"p{i.number}") for i in s.instalments[:3]]
    st = _statement(s, paid, D(2026, 4, 1))
    assert st.cap == Decimal("0.1200") and st.rule_set == "cn-private-2020"
    assert all(line.difference == Money.zero() for line in st.lines)
    assert st.line("total").owed == st.contract_owed
    assert st.line("total").refundable == Money.zero()


def test_lines_add_up_and_name_their_rules():
    s = _loan("40000", "0.36", D(2019, 6, 1), deducted="0.1")
    paid = [Repayment(i.due_on, i.total, key=f"p{i.number}") for i in s.instalments[:3]]
    st = _statement(s, paid, s.instalments[2].due_on + dt.timedelta(days=75))
    parts = [st.line(x) for x in ("interest", "penalty", "fees")]
    for column in ("contract", "lawful", "paid", "owed"):
        assert sum((getattr(p, column) for p in parts), Money.zero()) == getattr(
            st.line("charges"), column
        )
    total = st.line("total")
    assert total.owed == st.line("principal").owed + st.line("charges").owed
    assert total.paid == st.line("principal").paid + st.line("charges").paid + total.refundable
    assert all(line.rule and line.source for line in st.lines)
    assert st.line("principal").rule == "cn-no-upfront-deduction"


def test_periods_of_a_contract_formed_after_the_change_have_no_transition():
    periods = lawful_periods("cn", "private", D(2021, 1, 1), as_of=D(2026, 1, 1))
    assert [(p.rule_set, p.enforceable) for p in periods] == [
        ("cn-private-2020", Decimal("0.1540"))
    ]
    with pytest.raises(InvalidArgumentError, match="all-in"):
        lawful_periods("us", "any", D(2026, 1, 1), as_of=D(2026, 6, 1))


def test_the_batch_path_equals_the_per_loan_statement():
    """Every loan of a small mixed book: the batch figures equal legal_statement's."""
    cases = [
        (_loan("10000", "0.36", D(2019, 1, 1)), [], "c1"),
        (_loan("10000", "0.12", D(2026, 1, 1), deducted="0.1"), [], "c2"),
        (_loan("12000", "0.24", D(2026, 1, 1)), [0], "c3"),
        (_loan("10000", "0.36", D(2019, 1, 1)), [0, 1, 2], "c4"),
        (_loan("10000", "0.36", D(2025, 6, 1)), list(range(12)), "c5"),
    ]
    as_of = D(2026, 9, 1)
    states, expected = [], {}
    for n, (s, paid, _) in enumerate(cases):
        events = [
            Repayment(s.instalments[k].due_on, s.instalments[k].total, key=f"p{k}") for k in paid
        ]
        states.append(replay(s, events, as_of=as_of))
        expected[n] = legal_statement(states[-1], jurisdiction="cn", lender_type="private")
    out = legal_statements(
        **batch_inputs(states), as_of=as_of, jurisdiction="cn", lender_type="private"
    )
    for row in out.iter_rows(named=True):
        st = expected[row["loan_id"]]
        assert row["lawful_charges_fen"] == _fen(st.line("charges").lawful)
        assert row["owed_fen"] == _fen(st.line("total").owed)
        assert row["refundable_fen"] == _fen(st.line("total").refundable)
        assert row["paid_fen"] == _fen(st.line("total").paid)
        assert row["contract_owed_fen"] == _fen(st.contract_owed)
        assert row["rule_set"] == st.rule_set
