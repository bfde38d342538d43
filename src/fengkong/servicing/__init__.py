"""Loan servicing core (pure, no I/O): products, schedules, true APR, legal caps, the ledger.

>>> import datetime as dt
>>> from decimal import Decimal
>>> from fengkong.money import Money
>>> from fengkong.servicing import LoanTerms, apr, build_schedule, load_products, schedule_cash_flows
>>> terms = LoanTerms(load_products()["flat_fee_instalment"], Money.of("10000"), Decimal(0), 12, dt.date(2026, 1, 1))
>>> f"{apr(schedule_cash_flows(build_schedule(terms))).annual:.4f}"  # 0.6 % a month flat is ~13 % a year
'0.1303'
"""

from fengkong.servicing.apr import AprResult, CashFlow, apr, apr_batch, schedule_cash_flows
from fengkong.servicing.batch import schedules, terms_frame
from fengkong.servicing.caps import Breach, check_contract, lpr_on, rule_set_for
from fengkong.servicing.ledger import (
    Allocation,
    FeeCharge,
    HardshipPlan,
    LoanState,
    Prepayment,
    Recovery,
    Refund,
    Repayment,
    Reschedule,
    Reversal,
    Waiver,
    WriteOff,
    bucket_of,
    replay,
)
from fengkong.servicing.products import Product, get_product, load_products
from fengkong.servicing.schedule import Instalment, LoanTerms, Schedule, build_schedule, due_dates
from fengkong.servicing.statement import LegalStatement, legal_statement

__all__ = [
    "Allocation",
    "AprResult",
    "Breach",
    "CashFlow",
    "FeeCharge",
    "HardshipPlan",
    "Instalment",
    "LegalStatement",
    "LoanState",
    "LoanTerms",
    "Prepayment",
    "Product",
    "Recovery",
    "Refund",
    "Repayment",
    "Reschedule",
    "Reversal",
    "Schedule",
    "Waiver",
    "WriteOff",
    "apr",
    "apr_batch",
    "bucket_of",
    "build_schedule",
    "check_contract",
    "due_dates",
    "get_product",
    "legal_statement",
    "load_products",
    "lpr_on",
    "replay",
    "rule_set_for",
    "schedule_cash_flows",
    "schedules",
    "terms_frame",
]
