"""Settlement in full: an offer of a discounted amount, approved within a limit table, accepted
by payment — the discount is booked as waivers, every loan of the case settles, the case closes
as ``settled_in_full`` and collection stops for good (a later contact is refused by the stop).

The limit table is data (``collections/data/settlement_limits.yaml``): the largest discount
each role may approve and from how many days past due, and how long an offer may stay open.
The payment goes through the one door of servicing (:func:`~fengkong.services.servicing.post_event`):
the waivers first (penalty, fees, principal, then interest), then the payment of what is left,
all in one transaction; if the loans would not all settle nothing is written.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengkong.db.models import CollectionCaseRecord, LoanEventRecord, SettlementOfferRecord
from fengkong.errors import InvalidArgumentError, NotFoundError, WorkflowError
from fengkong.money import Money
from fengkong.services.access import Principal, workable_case
from fengkong.services.servicing import loan_id_for, loan_payoff, loan_state, post_event
from fengkong.servicing.ledger import Component, Repayment, Waiver

__all__ = ["SettlementLimits", "offer_settlement", "pay_settlement", "settlement_limits"]


class _Limit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_discount: Decimal = Field(ge=0, le=1)
    min_dpd: int = Field(ge=0)


class SettlementLimits(BaseModel):
    """Who may approve how large a discount (see the module's docs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: Literal[1]
    source: str
    max_days_to_expiry: int = Field(ge=1, le=365)
    limits: dict[str, _Limit]


@cache
def settlement_limits() -> SettlementLimits:
    """The shipped limit table.

    >>> settlement_limits().limits["collector"].max_discount
    Decimal('0.10')
    """
    text = resources.files("fengkong.collections").joinpath("data/settlement_limits.yaml")
    return SettlementLimits.model_validate(yaml.safe_load(text.read_text("utf-8")))


def _payoffs(session: Session, case: CollectionCaseRecord, on: dt.date) -> dict[str, int]:
    return {
        external: loan_payoff(session, loan_id_for(session, external), on).total.minor
        for external in case.loans
    }


def offer_settlement(
    session: Session,
    who: Principal,
    case_id: str,
    *,
    amount_fen: int,
    expires_on: dt.date,
    today: dt.date,
) -> dict[str, Any]:
    """Offer to settle a case in full for ``amount_fen``, within the caller's authority."""
    case = workable_case(session, case_id, who)
    if case.status not in ("open", "recovery") or not case.loans:
        raise WorkflowError(
            "offer a settlement", current=case.status, reason="only an open case with loans"
        )
    table = settlement_limits()
    limit = table.limits.get(who.role)
    if limit is None:
        raise InvalidArgumentError("role", expected=f"one of {sorted(table.limits)}", got=who.role)
    balance = sum(_payoffs(session, case, today).values())
    if not 0 < amount_fen <= balance:
        raise InvalidArgumentError(
            "amount_fen", expected=f"1 to the payoff {balance} fen", got=amount_fen
        )
    discount = 1 - Decimal(amount_fen) / Decimal(balance)
    if discount > limit.max_discount:
        raise InvalidArgumentError(
            "amount_fen",
            expected=f"a discount of at most {limit.max_discount:%} for a {who.role} "
            f"(at least {balance - int(balance * limit.max_discount)} fen; {table.source})",
            got=amount_fen,
        )
    if case.max_dpd < limit.min_dpd:
        raise InvalidArgumentError(
            "case_id",
            expected=f"a case at least {limit.min_dpd} days past due for a {who.role}'s offer",
            got=f"{case_id} ({case.max_dpd} days)",
        )
    last = today + dt.timedelta(days=table.max_days_to_expiry)
    if not today <= expires_on <= last:
        raise InvalidArgumentError("expires_on", expected=f"{today} to {last}", got=expires_on)
    for earlier in session.scalars(
        select(SettlementOfferRecord).where(
            SettlementOfferRecord.case_id == case_id, SettlementOfferRecord.status == "open"
        )
    ):
        if earlier.expires_on >= today:
            raise WorkflowError("offer a settlement", current="open", reason="an offer is open")
        earlier.status = "withdrawn"  # lapsed unpaid: it no longer binds anyone
    row = SettlementOfferRecord(
        case_id=case_id,
        balance_fen=balance,
        amount_fen=amount_fen,
        expires_on=expires_on,
        approved_by=who.name,
        approver_role=who.role,
        made_at=dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC),
        status="open",
    )
    session.add(row)
    session.flush()
    return _plain(row)


def _plain(row: SettlementOfferRecord) -> dict[str, Any]:
    return {
        "offer_id": row.id,
        "case_id": row.case_id,
        "balance_fen": row.balance_fen,
        "amount_fen": row.amount_fen,
        "expires_on": row.expires_on.isoformat(),
        "approved_by": row.approved_by,
        "status": row.status,
        "accepted_on": row.accepted_on.isoformat() if row.accepted_on else None,
    }


def _paid_with(session: Session, case: CollectionCaseRecord, key: str) -> bool:
    keys = [f"{key}:{external}" for external in case.loans]
    return (
        session.scalar(select(LoanEventRecord.id).where(LoanEventRecord.key.in_(keys))) is not None
    )


_WAIVE_ORDER: tuple[Component, ...] = ("penalty", "fee", "principal", "interest")


def pay_settlement(
    session: Session,
    case_id: str,
    offer_id: int,
    *,
    amount_fen: int,
    key: str,
    on: dt.date,
    business_date: dt.date,
) -> dict[str, Any]:
    """Accept an open offer by paying exactly its amount on or before its expiry: waivers and
    payments per loan (the amount shared in proportion to each loan's payoff), every loan
    settled, the case ``settled_in_full``. Anything else writes nothing."""
    row = session.get(SettlementOfferRecord, offer_id)
    if row is None or row.case_id != case_id:
        raise NotFoundError("settlement offer", offer_id)
    case = session.get(CollectionCaseRecord, case_id)
    assert case is not None  # an offer's case is never deleted (its id is the key)
    if row.status == "accepted" and _paid_with(session, case, key):
        return _plain(row)  # the same payment again: a no-op
    if row.status != "open":
        raise WorkflowError("pay a settlement", current=row.status, reason="the offer is closed")
    if on > row.expires_on:
        raise WorkflowError(
            "pay a settlement", current="expired", reason=f"it expired {row.expires_on}"
        )
    if amount_fen != row.amount_fen:
        raise InvalidArgumentError(
            "amount_fen", expected=f"the offer's {row.amount_fen} fen", got=amount_fen
        )
    payoffs = {k: v for k, v in _payoffs(session, case, on).items() if v > 0}
    total = sum(payoffs.values())
    if total == 0:
        raise WorkflowError("pay a settlement", current="settled", reason="nothing is owed")
    limit = settlement_limits().limits.get(row.approver_role)
    if limit is None or Decimal(total - amount_fen) > limit.max_discount * total:
        raise WorkflowError(
            "pay a settlement",
            current="beyond authority",
            reason=f"the payoff has grown to {total} fen: waiving {total - amount_fen} fen is "
            f"beyond the {row.approver_role}'s {limit.max_discount if limit else 0:%} authority; "
            "a new offer must be approved",
        )
    shares, left = {}, amount_fen
    for i, (external, owed) in enumerate(payoffs.items()):
        last = i == len(payoffs) - 1
        share = left if last else min(owed, amount_fen * owed // total)
        shares[external], left = share, left - share
    for external, owed in payoffs.items():
        loan_id = loan_id_for(session, external, lock=True)
        quote = loan_payoff(session, loan_id, on)
        waive = owed - shares[external]
        for part in _WAIVE_ORDER:
            take = min(waive, getattr(quote, part).minor)
            if take > 0:
                event = Waiver(on, part, Money.from_minor(take, quote.total.currency),
                               key=f"{key}:{external}:waive-{part}")  # fmt: skip
                post_event(session, loan_id, event, business_date=business_date)
                waive -= take
        if shares[external] > 0:
            paid = Repayment(on, Money.from_minor(shares[external], quote.total.currency),
                             key=f"{key}:{external}")  # fmt: skip
            post_event(session, loan_id, paid, business_date=business_date)
        state = loan_state(session, loan_id, on)
        if state.status != "settled" or state.suspense.minor:
            raise WorkflowError(
                "pay a settlement",
                current=state.status,
                reason=f"loan {external} would not settle exactly; nothing was written",
            )
    row.status, row.accepted_on = "accepted", on
    case.status = "settled_in_full"
    session.flush()
    return _plain(row)
