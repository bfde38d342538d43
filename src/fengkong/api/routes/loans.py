"""Loans: book from an approved decision, schedule, repay (idempotent), legal statement."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from fengkong.api.deps import SessionDep, require
from fengkong.errors import InvalidArgumentError, WorkflowError
from fengkong.money import Money
from fengkong.policy.audit import json_ready
from fengkong.services.access import Principal, audit_write
from fengkong.services.policies import get_decision
from fengkong.services.servicing import (
    book_loan,
    loan_id_for,
    loan_state,
    loan_statement,
    post_repayment,
)
from fengkong.servicing import LoanTerms, build_schedule, load_products
from fengkong.servicing.products import get_product

router = APIRouter(prefix="/v1/loans", tags=["loans"])
Writers = Annotated[Principal, Depends(require("admin", "service"))]
Readers = Annotated[Principal, Depends(require("admin", "service", "risk_analyst", "auditor"))]
LoanId = Annotated[str, Path(max_length=64, description="The loan's external id.")]


class BookIn(BaseModel):
    """Book a loan from an approved decision (principal within its limit)."""

    model_config = ConfigDict(extra="forbid")
    decision_id: str = Field(max_length=64)
    loan_id: str = Field(max_length=64, description="The loan's external id (unique).")
    borrower_id: str = Field(max_length=64)
    product: str = Field(max_length=64)
    principal_fen: int = Field(gt=0)
    annual_rate: Decimal = Field(ge=0, le=Decimal("10"))
    term: int = Field(gt=0, le=360)
    disbursed_on: dt.date


class RepayIn(BaseModel):
    """A repayment; the same key again is a no-op (no double posting)."""

    model_config = ConfigDict(extra="forbid")
    amount_fen: int = Field(gt=0)
    paid_on: dt.date
    idempotency_key: str = Field(min_length=1, max_length=128)


def _plain(value: Any) -> Any:
    return json_ready(dataclasses.asdict(value))


@router.post("")
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
    terms = LoanTerms(
        get_product(load_products(), body.product),
        Money.from_minor(body.principal_fen),
        body.annual_rate,
        body.term,
        body.disbursed_on,
    )
    book_loan(session, terms, external_id=body.loan_id, borrower_id=body.borrower_id)
    audit_write(
        session,
        who,
        "loan.book",
        body.loan_id,
        at=request.app.state.clock(),
        decision_id=body.decision_id,
    )
    return {"loan_id": body.loan_id, "schedule": _plain(build_schedule(terms))["instalments"]}


@router.get("/{loan_id}")
def state(
    loan_id: LoanId, session: SessionDep, who: Readers, as_of: Annotated[dt.date, Query()]
) -> dict[str, Any]:
    """The loan replayed to ``as_of``: instalments paid and due, DPD, bucket, status."""
    found = _plain(loan_state(session, loan_id_for(session, loan_id), as_of))
    found.pop("terms", None)
    return found  # type: ignore[no-any-return]


@router.post("/{loan_id}/repayments")
def repay(
    loan_id: LoanId, body: RepayIn, request: Request, session: SessionDep, who: Writers
) -> dict[str, Any]:
    """Post a repayment once (the idempotency key makes a retry a no-op)."""
    result = post_repayment(
        session,
        loan_id_for(session, loan_id),
        body.paid_on,
        Money.from_minor(body.amount_fen),
        key=body.idempotency_key,
    )
    audit_write(
        session, who, "loan.repay", loan_id, at=request.app.state.clock(), key=body.idempotency_key
    )
    return {
        "loan_id": loan_id,
        "status": result.status,
        "dpd": result.dpd,
        "paid_total": json_ready(dataclasses.asdict(result.paid_total)),
    }


@router.get("/{loan_id}/statement")
def statement(
    loan_id: LoanId,
    session: SessionDep,
    who: Readers,
    as_of: Annotated[dt.date, Query()],
    jurisdiction: Annotated[str, Query(max_length=8)] = "cn",
    lender_type: Annotated[str, Query(max_length=16)] = "private",
) -> dict[str, Any]:
    """The legal statement: what is owed against what is enforceable under the caps."""
    found: dict[str, Any] = _plain(
        loan_statement(
            session,
            loan_id_for(session, loan_id),
            as_of,
            jurisdiction=jurisdiction,
            lender_type=lender_type,
        )
    )
    return found
