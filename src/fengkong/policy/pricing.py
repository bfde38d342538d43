"""Pricing an offer: the true APR of its schedule and every legal cap it would break.

Both backends call :func:`price_offer`; it is cached on its arguments, so a batch of a
million applications builds one schedule per distinct offer (limits and prices come from
tables, so there are few) and a real-time decision reuses them.

>>> import datetime as dt
>>> price_offer("cash_loan", "cn", "licensed", 1_000_000, 0.15, 12, dt.date(2026, 3, 1))
(Decimal('0.1500'), ())
>>> price_offer("cash_loan", "cn", "private", 1_000_000, 0.15, 12, dt.date(2026, 3, 1))[1]
('cn2020-4x-lpr', 'cn2020-penalty-within-4x-lpr')
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from fengkong.money import Money
from fengkong.servicing.caps import check_contract, contract_figures
from fengkong.servicing.products import Product, get_product, load_products
from fengkong.servicing.schedule import LoanTerms, build_schedule

__all__ = ["price_offer"]

_BP = Decimal("0.0001")


@cache
def _product(name: str) -> Product:
    return get_product(load_products(), name)


@lru_cache(maxsize=65_536)
def price_offer(
    product: str,
    jurisdiction: str,
    lender_type: str,
    amount_fen: Any,
    annual_rate: Any,
    term_months: Any,
    on: Any,
) -> tuple[Decimal | None, tuple[str, ...]]:
    """``(true APR to 0.01 percentage point, ids of the cap rules broken)``.

    No offer (a null or non-positive amount, rate or term, or no date) gives ``(None, ())``.
    The rate is read through its decimal text (``0.18`` is exactly 18%).
    """
    if amount_fen is None or annual_rate is None or term_months is None or on is None:
        return None, ()
    if amount_fen <= 0 or term_months <= 0 or annual_rate < 0 or not isinstance(on, dt.date):
        return None, ()
    terms = LoanTerms(
        _product(product),
        Money.from_minor(int(amount_fen)),
        Decimal(str(annual_rate)),
        int(term_months),
        on,
    )
    schedule = build_schedule(terms)
    figures = contract_figures(schedule)  # the true APR is its all-in APR: solved once
    true_apr = figures.all_in_apr.quantize(_BP)
    breaches = check_contract(
        schedule, jurisdiction=jurisdiction, lender_type=lender_type, contract_date=on,
        figures=figures,
    )  # fmt: skip
    return true_apr, tuple(b.rule_id for b in breaches)
