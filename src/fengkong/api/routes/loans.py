"""Loans: book from an approved decision, schedule, repay (idempotent), legal statement."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import ConfigDict, Field

from fengkong.api.deps import SessionDep, require
from fengkong.api.types import Rate, RequestBody, Share
from fengkong.errors import InvalidArgumentError, WorkflowError
from fengkong.money import Money
from fengkong.policy.audit import json_ready
from fengkong.services.access import Principal, audit_write
from fengkong.services.policies import get_decision
from fengkong.services.servicing import (
    MAX_AMOUNT_FEN,
    book_loan,
    grant_hardship_plan,
    loan_id_for,
    loan_payoff,
    loan_state,
    loan_statement,
    post_repayment,
    refund_suspense,
)
from fengkong.servicing import LoanTerms, build_schedule, load_products
from fengkong.servicing.ledger import MAX_REAGE_MONTHS
from fengkong.servicing.products import get_product

router = APIRouter(prefix="/v1/loans", tags=["loans"])
Writers = Annotated[Principal, Depends(require("admin", "service"))]
Readers = Annotated[Principal, Depends(require("admin", "service", "risk_analyst", "auditor"))]
LoanId = Annotated[str, Path(max_length=64, description="The loan's external id.")]


class BookIn(RequestBody):
    """Book a loan from an approved decision (principal within its limit)."""

    model_config = ConfigDict(extra="forbid")
    decision_id: str = Field(max_length=64)
    loan_id: str = Field(max_length=64, description="The loan's external id (unique).")
    borrower_id: str = Field(max_length=64)
    product: str = Field(max_length=64)
    principal_fen: int = Field(gt=0)
    annual_rate: Rate
    term: int = Field(gt=0, le=360)
    disbursed_on: dt.date


class RepayIn(RequestBody):
    """A repayment; the same key again is a no-op (no double posting). Dated after the loan's
    last end of day and on or before the service's business day; above the payoff, the excess is
    held in suspense (``suspense_fen``) until refunded."""

    model_config = ConfigDict(extra="forbid")
    amount_fen: int = Field(gt=0, le=MAX_AMOUNT_FEN)
    paid_on: dt.date
    idempotency_key: str = Field(min_length=1, max_length=128)
    currency: str | None = Field(
        default=None, pattern="^[A-Z]{3}$", description="Must be the loan's (default: the loan's)."
    )


class RefundIn(RequestBody):
    """A refund of money held in suspense (at most the balance); the same key again is a no-op."""

    model_config = ConfigDict(extra="forbid")
    amount_fen: int = Field(gt=0, le=MAX_AMOUNT_FEN)
    refunded_on: dt.date
    idempotency_key: str = Field(min_length=1, max_length=128)


class HardshipIn(RequestBody):
    """A hardship plan: ``months`` reduced instalments from ``starts_on`` (``share`` of the level
    principal, interest at ``annual_rate``, 0 freezes it), then the rest re-amortised over ``term``
    months at the contract rate. Limited by the product's re-age policy; the same key again is a
    no-op."""

    model_config = ConfigDict(extra="forbid")
    starts_on: dt.date
    months: int = Field(ge=1, le=MAX_REAGE_MONTHS)
    annual_rate: Rate = Decimal(0)
    share: Share = Decimal("0.5")
    term: int | None = Field(default=None, ge=1, le=MAX_REAGE_MONTHS)
    idempotency_key: str = Field(min_length=1, max_length=128)


_REPAY_FIELDS = {
    "on": "body.paid_on",
    "amount": "body.amount_fen",
    "currency": "body.currency",
    "key": "body.idempotency_key",
    "loan": "loan_id",
    "reverses": "body.idempotency_key",
}
_REFUND_FIELDS = {**_REPAY_FIELDS, "on": "body.refunded_on"}
_HARDSHIP_FIELDS = {
    **_REPAY_FIELDS,
    "on": "body.starts_on",
    "months": "body.months",
    "rate": "body.annual_rate",
    "share": "body.share",
    "term": "body.term",
}


def _plain(value: Any) -> Any:
    return json_ready(dataclasses.asdict(value))


#: A loan is disbursed from a year before its approval (a book migrated in) to 90 days after.
_BOOK_BEFORE = dt.timedelta(days=365)
_BOOK_AFTER = dt.timedelta(days=90)


def _decision_date(decision: dict[str, Any]) -> dt.date:
    at = decision.get("decided_at")
    if isinstance(at, dt.datetime):
        return at.date()
    return dt.datetime.fromisoformat(str(at)).date()


@router.post(
    "",
    responses={
        200: {
            "links": {
                "GetLoan": {
                    "operationId": "get_loan",
                    "parameters": {"loan_id": "$response.body#/loan_id"},
                },
                "GetPayoff": {
                    "operationId": "get_payoff",
                    "parameters": {"loan_id": "$response.body#/loan_id"},
                },
                "Repay": {
                    "operationId": "repay",
                    "parameters": {"loan_id": "$response.body#/loan_id"},
                },
            }
        }
    },
)
def book(body: BookIn, request: Request, session: SessionDep, who: Writers) -> dict[str, Any]:
    """Book a loan for an approved decision; the principal may not exceed its limit."""
    decision = get_decision(session, body.decision_id)
    if decision["decision"] != "approve":
        raise WorkflowError(
            "book a loan", current=decision["decision"], reason="the decision is not an approval"
        )
    limit = (decision.get("outputs") or {}).get("limit_fen")
    if limit is not None and body.principal_fen > int(limit):
        raise InvalidArgumentError(
            "principal_fen", expected=f"at most the approved limit {limit}", got=body.principal_fen
        )
    decided = _decision_date(decision)
    if not decided - _BOOK_BEFORE <= body.disbursed_on <= decided + _BOOK_AFTER:
        raise InvalidArgumentError(
            "body.disbursed_on",
            expected=f"a date from {decided - _BOOK_BEFORE} to {decided + _BOOK_AFTER} "
            f"(a year before the approval {decided} to 90 days after it)",
            got=body.disbursed_on,
        )
    terms = LoanTerms(
        get_product(load_products(), body.product),
        Money.from_minor(body.principal_fen),
        body.annual_rate,
        body.term,
        body.disbursed_on,
    )
    book_loan(session, terms, external_id=body.loan_id, borrower_id=body.borrower_id,
              decision_id=body.decision_id)  # fmt: skip
    audit_write(
        session,
        who,
        "loan.book",
        body.loan_id,
        at=request.app.state.clock(),
        decision_id=body.decision_id,
    )
    return {"loan_id": body.loan_id, "schedule": _plain(build_schedule(terms))["instalments"]}


@router.get("/{loan_id}", operation_id="get_loan")
def state(
    loan_id: LoanId, session: SessionDep, who: Readers, as_of: Annotated[dt.date, Query()]
) -> dict[str, Any]:
    """The loan replayed to ``as_of``: instalments paid and due, DPD, bucket, status."""
    found = _plain(loan_state(session, loan_id_for(session, loan_id), as_of))
    found.pop("terms", None)
    return found  # type: ignore[no-any-return]


@router.get("/{loan_id}/payoff", operation_id="get_payoff")
def payoff(
    loan_id: LoanId, session: SessionDep, who: Readers, on: Annotated[dt.date, Query()]
) -> dict[str, Any]:
    """What settles the loan on ``on``: principal, interest to the date and charges due, in fen."""
    quote = loan_payoff(session, loan_id_for(session, loan_id), on)
    parts = ("principal", "interest", "penalty", "fee", "prepayment_fee", "credit")
    return {
        "loan_id": loan_id,
        "on": quote.on.isoformat(),
        "status": quote.status,
        "amount_fen": quote.total.minor,
        "currency": quote.total.currency,
        "parts_fen": {name: getattr(quote, name).minor for name in parts},
    }


@router.post("/{loan_id}/repayments", operation_id="repay")
def repay(
    loan_id: LoanId, body: RepayIn, request: Request, session: SessionDep, who: Writers
) -> dict[str, Any]:
    """Post a repayment once (the idempotency key makes a retry a no-op); above the payoff, to suspense."""
    now = request.app.state.clock()
    internal = loan_id_for(session, loan_id, lock=True)
    amount = (
        body.amount_fen
        if body.currency is None
        else Money.from_minor(body.amount_fen, body.currency)
    )
    result = post_repayment(
        session,
        internal,
        body.paid_on,
        amount,
        key=body.idempotency_key,
        business_date=now.date(),
        names=_REPAY_FIELDS,
    )
    audit_write(session, who, "loan.repay", loan_id, at=now, key=body.idempotency_key)
    return {
        "loan_id": loan_id,
        "status": result.status,
        "dpd": result.dpd,
        "paid_total": json_ready(dataclasses.asdict(result.paid_total)),
        "suspense_fen": result.suspense_fen,
    }


@router.post("/{loan_id}/refunds")
def refund(
    loan_id: LoanId, body: RefundIn, request: Request, session: SessionDep, who: Writers
) -> dict[str, Any]:
    """Refund money held in suspense to the borrower once (at most the suspense balance)."""
    now = request.app.state.clock()
    result = refund_suspense(
        session,
        loan_id_for(session, loan_id, lock=True),
        body.refunded_on,
        body.amount_fen,
        key=body.idempotency_key,
        business_date=now.date(),
        names=_REFUND_FIELDS,
    )
    audit_write(session, who, "loan.refund", loan_id, at=now, key=body.idempotency_key)
    return {"loan_id": loan_id, "status": result.status, "suspense_fen": result.suspense_fen}


@router.post("/{loan_id}/hardship-plans")
def hardship_plan(
    loan_id: LoanId, body: HardshipIn, request: Request, session: SessionDep, who: Writers
) -> dict[str, Any]:
    """Grant a hardship plan once (reduced instalments, then resumption) within the re-age limits."""
    now = request.app.state.clock()
    state = grant_hardship_plan(
        session,
        loan_id_for(session, loan_id, lock=True),
        body.starts_on,
        months=body.months,
        rate=body.annual_rate,
        share=body.share,
        term=body.term,
        key=body.idempotency_key,
        business_date=now.date(),
        names=_HARDSHIP_FIELDS,
    )
    audit_write(session, who, "loan.hardship_plan", loan_id, at=now, key=body.idempotency_key)
    lines = _plain(state)["instalments"]
    return {"loan_id": loan_id, "status": state.status, "dpd": state.dpd, "instalments": lines}


@router.get("/{loan_id}/statement")
def statement(
    loan_id: LoanId,
    session: SessionDep,
    who: Readers,
    as_of: Annotated[dt.date, Query()],
    jurisdiction: Annotated[str, Query(max_length=8)] = "cn",
    lender_type: Annotated[str, Query(max_length=16)] = "private",
    filed_on: Annotated[dt.date | None, Query()] = None,
) -> dict[str, Any]:
    """The legal statement: per line what the contract says, what is lawful, paid, owed and
    refundable, with the rule and source; ``filed_on`` (default ``as_of``) sets the LPR for
    the days after a rule change."""
    found: dict[str, Any] = _plain(
        loan_statement(
            session,
            loan_id_for(session, loan_id),
            as_of,
            jurisdiction=jurisdiction,
            lender_type=lender_type,
            filed_on=filed_on,
        )
    )
    return found
