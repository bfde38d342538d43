"""The borrower's question, answered: what is owed under the contract, and what the law enforces.

``legal_statement(state, jurisdiction=..., lender_type=...)`` sets the contract's figures to
date beside the enforceable ones, line by line: the principal actually disbursed (an amount
deducted upfront, 砍头息, was never lent: Civil Code art. 670), and charges — interest,
penalty interest and fees together — up to the all-in cap of the rule set in force on the
contract date, computed on the principal outstanding over each period.

>>> import datetime as dt
>>> from decimal import Decimal
>>> from fengkong.money import Money
>>> from fengkong.servicing.ledger import replay
>>> from fengkong.servicing.products import load_products
>>> from fengkong.servicing.schedule import LoanTerms, build_schedule
>>> product = load_products()["cash_loan"].model_copy(update={"upfront_fee_rate": Decimal("0.1"), "upfront_fee_deducted": True})
>>> s = build_schedule(LoanTerms(product, Money.of("10000"), Decimal("0.36"), 12, dt.date(2019, 1, 1)))
>>> st = legal_statement(replay(s, [], as_of=dt.date(2019, 4, 15)), jurisdiction="cn", lender_type="private")
>>> [(line.item, str(line.contract.amount), str(line.enforceable.amount)) for line in st.lines][:2]
[('principal', '10000.00', '9000.00'), ('interest', '835.95', '510.52')]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from fengkong.money import Money
from fengkong.servicing.caps import lpr_on, rule_set_for
from fengkong.servicing.ledger import LoanState
from fengkong.servicing.schedule import build_schedule

__all__ = ["LegalStatement", "StatementLine", "legal_statement"]


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One line: the contract's figure, the enforceable figure and the difference."""

    item: str
    contract: Money
    enforceable: Money

    @property
    def difference(self) -> Money:
        return self.contract - self.enforceable


@dataclass(frozen=True, slots=True)
class LegalStatement:
    """The statement as of ``as_of`` under ``rule_set`` with its all-in ``cap``."""

    as_of: dt.date
    rule_set: str
    source: str
    cap: Decimal
    lines: tuple[StatementLine, ...]
    notes: tuple[str, ...]

    def line(self, item: str) -> StatementLine:
        return next(line for line in self.lines if line.item == item)


def _cap(jurisdiction: str, lender_type: str, contract_date: dt.date) -> tuple[str, str, Decimal]:
    rule_set = rule_set_for(jurisdiction, lender_type, contract_date)
    limits = [
        r.limit if r.lpr_multiple is None else r.lpr_multiple * lpr_on(contract_date)
        for r in rule_set.rules
        if r.kind == "all_in_apr"
    ]
    caps = [x for x in limits if x is not None]
    if not caps:
        raise ValueError(f"rule set {rule_set.id} has no all-in rate cap")
    return rule_set.id, rule_set.source, min(caps)


def _lawful_charges(state: LoanState, cap: Decimal) -> int:
    """Charges at the cap up to ``as_of``: on the principal outstanding over each period that fell
    due, then on the principal already overdue for the days since the last due date."""
    terms = state.terms
    deducted = terms.principal.minor - terms.net_disbursed.minor
    total = Decimal(0)
    start, balance = terms.disbursed_on, terms.principal.minor
    for instalment in build_schedule(terms).instalments:
        if instalment.due_on > state.as_of:
            break
        total += Decimal(max(balance - deducted, 0)) * cap * (instalment.due_on - start).days / 365
        start, balance = instalment.due_on, instalment.balance.minor
    overdue = sum(
        i.due["principal"] - i.paid["principal"]
        for i in state.instalments
        if i.due_on < state.as_of
    )
    if state.as_of > start and overdue > 0:
        base = min(overdue, max(balance - deducted, 0))
        total += Decimal(base) * cap * (state.as_of - start).days / 365
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def legal_statement(state: LoanState, *, jurisdiction: str, lender_type: str) -> LegalStatement:
    """Contract against enforceable amounts for a loan replayed to ``state.as_of``."""
    terms = state.terms
    currency = terms.principal.currency
    rule_set, source, cap = _cap(jurisdiction, lender_type, terms.disbursed_on)

    def m(fen: int) -> Money:
        return Money.from_minor(fen, currency)

    upfront = terms.upfront_fee.minor
    interest = state.charged("interest").minor
    penalty = state.charged("penalty").minor
    fees = state.charged("fee").minor + upfront
    charges = interest + penalty + fees
    lawful = min(charges, _lawful_charges(state, cap))
    # Enforceable charges keep the contract's order: interest, then penalty, then fees.
    left = lawful
    parts = {}
    for item, amount in (("interest", interest), ("penalty", penalty), ("fees", fees)):
        parts[item] = min(amount, left)
        left -= parts[item]
    paid = state.paid_total.minor + (upfront if terms.product.upfront_fee_deducted else 0)
    principal, net = terms.principal.minor, terms.net_disbursed.minor
    lines = (
        StatementLine("principal", m(principal), m(net)),
        StatementLine("interest", m(interest), m(parts["interest"])),
        StatementLine("penalty", m(penalty), m(parts["penalty"])),
        StatementLine("fees", m(fees), m(parts["fees"])),
        StatementLine("charges", m(charges), m(lawful)),
        StatementLine("paid", m(paid), m(paid)),
        StatementLine("owed", m(principal + charges - paid), m(max(net + lawful - paid, 0))),
    )
    notes = []
    if upfront and terms.product.upfront_fee_deducted:
        notes.append(
            f"{m(upfront)} was deducted upfront (砍头息): the principal is the {m(net)} actually received."
        )
    if charges > lawful:
        notes.append(
            f"Charges above the {cap * 100:.2f} % all-in cap ({m(charges - lawful)}) are not enforceable."
        )
    if net + lawful - paid < 0:
        notes.append(f"Paid {m(paid - net - lawful)} more than the enforceable amount.")
    return LegalStatement(state.as_of, rule_set, source, cap, lines, tuple(notes))
