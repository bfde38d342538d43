"""Collections: the queue, a case, promises (a collector sees only the cases assigned to them)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import ConfigDict, Field

from fengkong.api.deps import SessionDep, require
from fengkong.api.types import MAX_ROW_ID, RequestBody
from fengkong.services.access import Principal, audit_write, mask_personal
from fengkong.services.casework import add_promise, case_detail, queue, reassign_case
from fengkong.services.settlement import offer_settlement, pay_settlement

router = APIRouter(prefix="/v1/collections", tags=["collections"])
Workers = Annotated[Principal, Depends(require("admin", "collector"))]
Managers = Annotated[Principal, Depends(require("admin"))]
Readers = Annotated[Principal, Depends(require("admin", "collector", "auditor", "risk_analyst"))]
Payers = Annotated[Principal, Depends(require("admin", "service"))]
CaseId = Annotated[str, Path(max_length=64)]


class PromiseIn(RequestBody):
    """A promise to pay: an amount in fen by a date (today up to 30 days ahead)."""

    model_config = ConfigDict(extra="forbid")
    amount_fen: int = Field(gt=0, le=10**12)
    due_on: dt.date


class AssignmentIn(RequestBody):
    """Give a case to a collector, held against the daily allocation for ``hold_days``."""

    model_config = ConfigDict(extra="forbid")
    collector: str = Field(min_length=1, max_length=64, pattern=r"^[\w.\-]+$")
    hold_days: int = Field(default=7, ge=1, le=90)
    reason: str = Field(min_length=3, max_length=500)


@router.get("/queue")
def my_queue(
    session: SessionDep,
    who: Readers,
    status: Annotated[
        str, Query(pattern="^(open|recovery|cured|settled|settled_in_full)$")
    ] = "open",
    assigned_to: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Cases to work, most valuable first (a collector's own only)."""
    found = queue(session, who, status=status, assigned_to=assigned_to, limit=limit)
    return mask_personal(found, role=who.role)  # type: ignore[no-any-return]


@router.get("/cases/{case_id}")
def case(case_id: CaseId, request: Request, session: SessionDep, who: Readers) -> dict[str, Any]:
    """A case: loans with schedule and balances, today's plan, contacts, promises."""
    found = case_detail(session, case_id, who, request.app.state.clock().date())
    return mask_personal(found, role=who.role)  # type: ignore[no-any-return]


@router.post("/cases/{case_id}/promises")
def promise(
    case_id: CaseId, body: PromiseIn, request: Request, session: SessionDep, who: Workers
) -> dict[str, Any]:
    """Record a promise to pay (checked against the case's balance); it pauses the case."""
    now = request.app.state.clock()
    made = add_promise(
        session, case_id, who, amount_fen=body.amount_fen, due_on=body.due_on, today=now.date()
    )
    audit_write(session, who, "case.promise", case_id, at=now, **made)
    return made


@router.post("/cases/{case_id}/assign")
def assign(
    case_id: CaseId, body: AssignmentIn, request: Request, session: SessionDep, who: Managers
) -> dict[str, Any]:
    """Give a case to a collector; the daily runs keep it with them until the hold ends."""
    now = request.app.state.clock()
    done = reassign_case(
        session, case_id, body.collector, hold_days=body.hold_days, who=who, today=now.date()
    )
    audit_write(session, who, "case.assign", case_id, at=now, reason=body.reason, **done)
    return done


class OfferIn(RequestBody):
    """Settle the case in full for ``amount_fen`` if paid by ``expires_on`` (within your authority)."""

    model_config = ConfigDict(extra="forbid")
    amount_fen: int = Field(gt=0, le=10**12)
    expires_on: dt.date


class SettlementPaymentIn(RequestBody):
    """The payment of a settlement offer: exactly its amount, once (the key makes a retry a no-op)."""

    model_config = ConfigDict(extra="forbid")
    amount_fen: int = Field(gt=0, le=10**12)
    idempotency_key: str = Field(min_length=1, max_length=100, pattern=r"^[\w.\-]+$")


@router.post("/cases/{case_id}/settlements")
def offer(
    case_id: CaseId, body: OfferIn, request: Request, session: SessionDep, who: Workers
) -> dict[str, Any]:
    """Offer to settle a case in full at a discount (limited by the approver's role)."""
    now = request.app.state.clock()
    made = offer_settlement(session, who, case_id, amount_fen=body.amount_fen,
                            expires_on=body.expires_on, today=now.date())  # fmt: skip
    audit_write(session, who, "case.settlement_offer", case_id, at=now, **made)
    return made


@router.post("/cases/{case_id}/settlements/{offer_id}/payments")
def pay(
    case_id: CaseId,
    offer_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
    body: SettlementPaymentIn,
    request: Request,
    session: SessionDep,
    who: Payers,
) -> dict[str, Any]:
    """Accept an offer by its payment today: the discount waived, the loans settled, the case closed."""
    now = request.app.state.clock()
    done = pay_settlement(session, case_id, offer_id, amount_fen=body.amount_fen,
                          key=body.idempotency_key, on=now.date(), business_date=now.date())  # fmt: skip
    audit_write(session, who, "case.settlement_paid", case_id, at=now, **done)
    return done
