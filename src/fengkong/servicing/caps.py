"""Legal rate caps as versioned rule sets, and the check of a contract against them.

Rule sets live in ``servicing/data/legal_caps.yaml`` (one per jurisdiction and lender type,
with effective dates and sources; the one-year LPR table is data too). The rule set that
applies is the one in force on the contract date. :func:`check_contract` returns every
breach, each naming its rule, the limit, the contract's figure and the source.

>>> import datetime as dt
>>> from decimal import Decimal
>>> from fengkong.money import Money
>>> from fengkong.servicing.products import load_products
>>> from fengkong.servicing.schedule import LoanTerms, build_schedule
>>> terms = LoanTerms(load_products()["cash_loan"], Money.of("10000"), Decimal("0.30"), 12, dt.date(2026, 1, 1))
>>> [b.rule_id for b in check_contract(build_schedule(terms), jurisdiction="cn", lender_type="private")]
['cn2020-4x-lpr', 'cn2020-penalty-within-4x-lpr']
>>> lpr_on(dt.date(2020, 8, 20))
Decimal('0.0385')
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from fengkong.errors import InvalidArgumentError
from fengkong.servicing.apr import apr, schedule_cash_flows
from fengkong.servicing.schedule import Schedule, add_months

__all__ = [
    "Breach",
    "CapRule",
    "RuleSet",
    "Transition",
    "check_contract",
    "contract_figures",
    "lpr_on",
    "rule_set_for",
]

Severity = Literal["void", "unenforceable", "breach"]
_BP = Decimal("0.0001")


class CapRule(BaseModel):
    """One rule of a rule set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kind: Literal[
        "all_in_apr",
        "penalty_apr",
        "no_upfront_deduction",
        "disclosure_tolerance",
        "daily_cost",
        "default_fee",
        "total_cost",
    ]
    severity: Severity
    text: str
    limit: Decimal | None = None
    lpr_multiple: Decimal | None = None
    limit_minor: int | None = None
    applies_to: Literal["regular", "irregular"] | None = None
    source: str | None = None


class Transition(BaseModel):
    """How a rule set reaches contracts formed before it: the days from ``from`` on are judged
    under it, with the LPR of ``lpr_at`` (the filing date)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: dt.date = Field(alias="from")
    lpr_at: Literal["filing"]
    source: str


class RuleSet(BaseModel):
    """Rules for one jurisdiction and lender type over a span of contract dates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    jurisdiction: str
    lender_type: str
    effective_from: dt.date
    effective_to: dt.date | None = None
    source: str
    rules: tuple[CapRule, ...] = Field(min_length=1)
    transition: Transition | None = None


class _LprPoint(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: dt.date = Field(alias="from")
    rate: Decimal


class _CapsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: Literal[1]
    lpr_1y: list[_LprPoint]
    rule_sets: list[RuleSet]


@cache
def _caps() -> _CapsFile:
    text = resources.files("fengkong.servicing").joinpath("data/legal_caps.yaml").read_text("utf-8")
    return _CapsFile.model_validate(yaml.safe_load(text))


def lpr_on(day: dt.date) -> Decimal:
    """The one-year LPR in force on ``day`` (from the data table)."""
    points = [p for p in _caps().lpr_1y if p.from_ <= day]
    if not points:
        raise InvalidArgumentError(
            "date", expected=f"a date on or after {_caps().lpr_1y[0].from_} (first LPR)", got=day
        )
    return points[-1].rate


def rule_set_for(jurisdiction: str, lender_type: str, contract_date: dt.date) -> RuleSet:
    """The rule set in force for a contract formed on ``contract_date``."""
    candidates = [
        rs
        for rs in _caps().rule_sets
        if rs.jurisdiction == jurisdiction
        and rs.lender_type in (lender_type, "any")
        and rs.effective_from <= contract_date
        and (rs.effective_to is None or contract_date <= rs.effective_to)
    ]
    if not candidates:
        known = sorted({(rs.jurisdiction, rs.lender_type) for rs in _caps().rule_sets})
        raise InvalidArgumentError(
            "jurisdiction/lender_type",
            expected=f"one of {known} in force on {contract_date}",
            got=(jurisdiction, lender_type),
        )
    return candidates[-1]


@dataclass(frozen=True, slots=True)
class Breach:
    """A rule the contract breaks: what, how far, and on what authority."""

    rule_id: str
    rule_set: str
    severity: str
    message: str
    limit: Decimal | None
    actual: Decimal | None
    source: str


@dataclass(frozen=True, slots=True)
class ContractFigures:
    """The figures of a contract the rules look at (rates are annual fractions)."""

    all_in_apr: Decimal
    penalty_apr: Decimal
    upfront_deducted_minor: int
    daily_cost: Decimal
    total_cost: Decimal
    default_fee_minor: int
    regular: bool


def contract_figures(schedule: Schedule) -> ContractFigures:
    """All-in APR (fees included), overdue-charge rate, upfront deduction and cost ratios."""
    terms = schedule.terms
    product = terms.product
    all_in = apr(schedule_cash_flows(schedule)).annual
    due = schedule.total_due.minor
    mean_instalment = Decimal(due) / len(schedule.instalments)
    late_fee_rate = (
        Decimal(product.late_fee_fen) / mean_instalment * 12 if mean_instalment else Decimal(0)
    )
    penalty = terms.annual_rate * product.penalty_rate_multiplier + late_fee_rate
    days = (schedule.instalments[-1].due_on - terms.disbursed_on).days
    charges = Decimal(due - terms.net_disbursed.minor)
    net = Decimal(terms.net_disbursed.minor)
    dates = [terms.disbursed_on, *(i.due_on for i in schedule.instalments)]
    regular = all(
        add_months(dates[0], k, anchor_day=dates[0].day) == d for k, d in enumerate(dates)
    )
    return ContractFigures(
        all_in_apr=all_in,
        penalty_apr=penalty,
        upfront_deducted_minor=terms.upfront_fee.minor if product.upfront_fee_deducted else 0,
        daily_cost=charges / net / max(days, 1),
        total_cost=charges / net,
        default_fee_minor=product.late_fee_fen,
        regular=regular,
    )


def check_contract(
    schedule: Schedule,
    *,
    jurisdiction: str,
    lender_type: str,
    contract_date: dt.date | None = None,
    disclosed_apr: Decimal | None = None,
    figures: ContractFigures | None = None,
) -> tuple[Breach, ...]:
    """Every rule of the applicable rule set the contract breaks (empty when it complies).

    ``figures``: the schedule's :func:`contract_figures` when the caller has them already.
    """
    day = contract_date or schedule.terms.disbursed_on
    rule_set = rule_set_for(jurisdiction, lender_type, day)
    figures = figures or contract_figures(schedule)
    breaches = []
    for rule in rule_set.rules:
        bound = rule.limit if rule.lpr_multiple is None else (rule.lpr_multiple * lpr_on(day))
        limit: Decimal = bound if bound is not None else Decimal(0)
        actual: Decimal | None = None
        broken = False
        if rule.kind == "all_in_apr":  # rates compare at 0.01 percentage point, as disclosed
            actual = figures.all_in_apr.quantize(_BP)
            broken = actual > limit
        elif rule.kind == "penalty_apr":
            actual = figures.penalty_apr.quantize(_BP)
            broken = actual > limit
        elif rule.kind == "no_upfront_deduction":
            actual = Decimal(figures.upfront_deducted_minor)
            broken = figures.upfront_deducted_minor > 0
        elif rule.kind == "disclosure_tolerance":
            wanted = "regular" if figures.regular else "irregular"
            if disclosed_apr is None or rule.applies_to != wanted:
                continue
            actual = abs(disclosed_apr - figures.all_in_apr)
            broken = actual > limit
        elif rule.kind == "daily_cost":
            actual, broken = figures.daily_cost, figures.daily_cost > limit
        elif rule.kind == "total_cost":
            actual, broken = figures.total_cost, figures.total_cost > limit
        elif rule.kind == "default_fee":
            actual = Decimal(figures.default_fee_minor)
            limit = Decimal(rule.limit_minor or 0)
            broken = figures.default_fee_minor > (rule.limit_minor or 0)
        if broken:
            breaches.append(
                Breach(
                    rule.id,
                    rule_set.id,
                    rule.severity,
                    rule.text,
                    limit,
                    actual,
                    rule.source or rule_set.source,
                )
            )
    return tuple(breaches)
