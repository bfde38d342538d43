"""legal_statement: contract against enforceable amounts, line by line."""

import datetime as dt
from decimal import Decimal

from fengkong.money import Money
from fengkong.servicing.ledger import Repayment, replay
from fengkong.servicing.products import load_products
from fengkong.servicing.schedule import LoanTerms, build_schedule
from fengkong.servicing.statement import legal_statement

CATALOGUE = load_products()


def test_a_lawful_loan_owes_the_same_either_way():
    s = build_schedule(
        LoanTerms(
            CATALOGUE["cash_loan"], Money.of("10000"), Decimal("0.10"), 12, dt.date(2026, 1, 1)
        )
    )
    state = replay(
        s,
        [Repayment(i.due_on, i.total, key=f"p{i.number}") for i in s.instalments[:3]],
        as_of=dt.date(2026, 4, 2),
    )
    st = legal_statement(state, jurisdiction="cn", lender_type="private")
    assert st.cap == Decimal("0.1200") and st.rule_set == "cn-private-2020"
    assert all(line.difference == Money.zero() for line in st.lines)
    assert st.notes == ()
    owed = st.line("owed").contract
    assert owed == Money.of("10000") + st.line("charges").contract - st.line("paid").contract


def test_usurious_charges_and_upfront_deduction_are_cut_back():
    """The source material's borrower: an overdue loan priced above the cap, interest taken upfront."""
    product = CATALOGUE["cash_loan"].model_copy(
        update={"upfront_fee_rate": Decimal("0.1"), "upfront_fee_deducted": True}
    )
    s = build_schedule(
        LoanTerms(product, Money.of("40000"), Decimal("0.36"), 12, dt.date(2019, 6, 1))
    )
    as_of = s.instalments[2].due_on + dt.timedelta(days=75)
    state = replay(
        s,
        [Repayment(i.due_on, i.total, key=f"p{i.number}") for i in s.instalments[:3]],
        as_of=as_of,
    )
    st = legal_statement(state, jurisdiction="cn", lender_type="private")
    assert st.rule_set == "cn-private-2015" and st.cap == Decimal("0.24")
    assert st.line("principal").enforceable == Money.of("36000")
    assert st.line("charges").enforceable < st.line("charges").contract
    assert st.line("owed").difference > Money.of(
        "4000"
    )  # at least the deduction plus excess charges
    assert any("砍头息" in note for note in st.notes) and any(
        "not enforceable" in note for note in st.notes
    )
    enforceable_parts = sum(
        (st.line(x).enforceable for x in ("interest", "penalty", "fees")), Money.zero()
    )
    assert enforceable_parts == st.line("charges").enforceable
