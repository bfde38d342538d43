"""Forbearance: hardship plans and the limits on bringing a loan current (re-ageing).

A re-age — a :class:`~fengkong.servicing.ledger.Reschedule` or a
:class:`~fengkong.servicing.ledger.HardshipPlan` — resets a loan's delinquency, so it is
limited: the borrower first shows renewed willingness and ability to pay (``qualifying_payments``
consecutive calendar months with a payment of at least ``qualifying_share`` of the regular
instalment, or the same sum in all over those months), and a loan is re-aged at most
``max_in_12_months`` times in any twelve months and ``max_in_5_years`` in five. The limits are
data (``servicing/data/forbearance.yaml``, default ``ffiec_2000`` with its source); a product
names another policy with ``reage_policy``.

>>> import datetime as dt
>>> policy = reage_policy("ffiec_2000")
>>> paid = [(dt.date(2026, 3, 5), 40000), (dt.date(2026, 4, 5), 40000), (dt.date(2026, 5, 5), 40000)]
>>> check_reage(policy, dt.date(2026, 5, 20), earlier=[], payments=paid, instalment_fen=40000)
>>> try:
...     check_reage(policy, dt.date(2026, 5, 20), earlier=[dt.date(2025, 9, 1)], payments=paid, instalment_fen=40000)
... except Exception as exc:
...     print(exc.field)
on
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from importlib import resources
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from fengkong.errors import InvalidArgumentError
from fengkong.servicing.schedule import add_months

__all__ = ["ReagePolicy", "check_reage", "plan_lines", "reage_policy"]


class ReagePolicy(BaseModel):
    """Limits on re-ageing a loan (see the module's docs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    source: str
    qualifying_payments: Annotated[int, Field(ge=0, le=24)]
    qualifying_share: Annotated[Decimal, Field(ge=0, le=1)]
    max_in_12_months: Annotated[int, Field(ge=0)]
    max_in_5_years: Annotated[int, Field(ge=0)]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: Literal[1]
    policies: dict[str, ReagePolicy]


@cache
def _policies() -> dict[str, ReagePolicy]:
    text = (
        resources.files("fengkong.servicing").joinpath("data/forbearance.yaml").read_text("utf-8")
    )
    found = _File.model_validate(yaml.safe_load(text)).policies
    return {name: p.model_copy(update={"name": name}) for name, p in found.items()}


def reage_policy(name: str) -> ReagePolicy:
    """The shipped re-ageing policy ``name`` (``ffiec_2000``, the default, or ``none``)."""
    found = _policies().get(name)
    if found is None:
        raise InvalidArgumentError(
            "reage_policy", expected=f"one of {sorted(_policies())}", got=name
        )
    return found


def _years_back(day: dt.date, years: int) -> dt.date:
    return add_months(day, -12 * years)


def check_reage(
    policy: ReagePolicy,
    on: dt.date,
    *,
    earlier: Sequence[dt.date],
    payments: Sequence[tuple[dt.date, int]],
    instalment_fen: int,
) -> None:
    """Refuse a re-age on ``on`` that ``policy`` does not allow (an error naming ``on`` and
    the rule); ``earlier`` are the loan's earlier re-age dates, ``payments`` its payments
    ``(date, fen)`` and ``instalment_fen`` its regular instalment."""
    year_ago, five_ago = _years_back(on, 1), _years_back(on, 5)
    in_year = sum(year_ago < d <= on for d in earlier)
    in_five = sum(five_ago < d <= on for d in earlier)
    if in_year >= policy.max_in_12_months or in_five >= policy.max_in_5_years:
        raise InvalidArgumentError(
            "on",
            expected=f"a re-age within {policy.max_in_12_months} in 12 months and "
            f"{policy.max_in_5_years} in 5 years ({policy.source})",
            got=f"{on} after {in_year} in 12 months, {in_five} in 5 years",
        )
    k = policy.qualifying_payments
    if k == 0:
        return
    need = int((policy.qualifying_share * instalment_fen).to_integral_value(ROUND_HALF_EVEN))
    months = [add_months(on.replace(day=1), -j) for j in range(k)]  # this month and k-1 before
    start = months[-1]
    by_month = dict.fromkeys(months, 0)
    for day, fen in payments:
        if start <= day <= on:
            by_month[day.replace(day=1)] += fen
    each = all(v >= need for v in by_month.values())
    if not (each or sum(by_month.values()) >= k * need):
        raise InvalidArgumentError(
            "on",
            expected=f"{k} consecutive monthly payments of at least {need} fen (or "
            f"{k * need} fen in all) from {start} before a re-age ({policy.source})",
            got=f"{sum(by_month.values())} fen paid",
        )


def plan_lines(
    balance: int, on: dt.date, months: int, rate: Decimal, share: Decimal, term: int
) -> list[tuple[dt.date, int, int]]:
    """The reduced instalments of a hardship plan: ``months`` monthly lines from ``on`` of
    ``(due_on, interest, principal)`` — interest at the plan's annual ``rate`` on the balance
    (a month is a twelfth of a year; 0 freezes interest) and ``share`` of the level principal
    (``balance / term``) each month. Halves round to even.

    >>> plan_lines(1_200_000, dt.date(2026, 6, 1), 3, Decimal("0"), Decimal("0.5"), 12)
    [(datetime.date(2026, 7, 1), 0, 50000), (datetime.date(2026, 8, 1), 0, 50000), (datetime.date(2026, 9, 1), 0, 50000)]
    """
    out = []
    level = Decimal(balance) / max(term, 1) * share
    part = int(level.to_integral_value(ROUND_HALF_EVEN))
    left = balance
    for k in range(1, months + 1):
        interest = int((Decimal(left) * rate / 12).to_integral_value(ROUND_HALF_EVEN))
        principal = min(part, left)
        out.append((add_months(on, k, anchor_day=on.day), interest, principal))
        left -= principal
    return out
