"""Debtors: stop states (disputes, cease contact, hardship, legal hold, deceased, bankruptcy,
representation) and the third parties and attorneys the lender may contact."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengkong.api.deps import SessionDep, require
from fengkong.api.types import MAX_ROW_ID, RequestBody, RowId
from fengkong.db.models import CollectionCaseRecord
from fengkong.errors import NotFoundError
from fengkong.services.access import Principal, audit_write, mask_personal, owner_of
from fengkong.services.debtors import add_contact, lift_request, list_requests, set_request

router = APIRouter(prefix="/v1/debtors", tags=["collections"])
Workers = Annotated[Principal, Depends(require("admin", "collector"))]
Managers = Annotated[Principal, Depends(require("admin"))]
Readers = Annotated[Principal, Depends(require("admin", "collector", "auditor"))]
BorrowerId = Annotated[str, Path(max_length=64, pattern=r"^[\w.\-]+$")]
Channel = Literal["call", "robocall", "sms", "email", "letter", "field_visit"]


class RequestIn(RequestBody):
    """A stop state to put in force now: a borrower's request or a fact the lender learned."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal[
        "dispute",
        "cease_contact",
        "hardship",
        "legal_hold",
        "deceased",
        "bankruptcy",
        "represented",
    ]
    reason: str = Field(min_length=3, max_length=2000)
    channels: list[Channel] | None = Field(
        default=None, min_length=1, description="cease_contact only: these channels (default all)."
    )
    loan_id: str | None = Field(default=None, max_length=64, description="dispute: the loan.")
    disputed_fen: int | None = Field(default=None, gt=0, le=10**12)
    attorney_contact_id: RowId | None = None


class LiftIn(RequestBody):
    """Lift a stop state now; a dispute ends verified, upheld or withdrawn."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=2000)
    outcome: Literal["verified", "upheld", "withdrawn"] | None = None


class ContactPersonIn(RequestBody):
    """A third party (from the application; only to locate the debtor) or the debtor's attorney."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["third_party", "attorney"]
    name: str = Field(min_length=1, max_length=128)
    relation: str = Field(default="", max_length=32)
    number: str = Field(min_length=3, max_length=40)


def _mine(session: Session, who: Principal, borrower_id: str) -> None:
    """A collector works only the debtors of cases assigned to them (others: not found)."""
    mine = owner_of(who)
    if mine is None:
        return
    found = session.scalar(
        select(CollectionCaseRecord.case_id).where(
            CollectionCaseRecord.borrower_id == borrower_id,
            CollectionCaseRecord.assigned_to == mine,
        )
    )
    if found is None:
        raise NotFoundError("borrower", borrower_id)


@router.get("/{borrower_id}/requests")
def requests(borrower_id: BorrowerId, session: SessionDep, who: Readers) -> list[dict[str, Any]]:
    """Every stop state of a debtor, lifted ones included, with who set and lifted it."""
    _mine(session, who, borrower_id)
    return list_requests(session, borrower_id)


@router.post("/{borrower_id}/requests")
def add_request(
    borrower_id: BorrowerId, body: RequestIn, request: Request, session: SessionDep, who: Workers
) -> dict[str, Any]:
    """Put a stop state in force now (a collector: on their own cases' debtors)."""
    _mine(session, who, borrower_id)
    at = request.app.state.clock()
    made = set_request(session, who, borrower_id, body.kind, at=at, reason=body.reason,
                       channels=body.channels, loan_id=body.loan_id,
                       disputed_fen=body.disputed_fen,
                       attorney_contact_id=body.attorney_contact_id)  # fmt: skip
    audit_write(session, who, "debtor.request", borrower_id, at=at,
                request_id=made["request_id"], kind=body.kind)  # fmt: skip
    return made


@router.post("/{borrower_id}/requests/{request_id}/lift")
def lift(
    borrower_id: BorrowerId,
    request_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
    body: LiftIn,
    request: Request,
    session: SessionDep,
    who: Managers,
) -> dict[str, Any]:
    """Lift a stop state now (a manager only; a dispute with its outcome)."""
    at = request.app.state.clock()
    done = lift_request(session, who, borrower_id, request_id, at=at, reason=body.reason,
                        outcome=body.outcome)  # fmt: skip
    audit_write(session, who, "debtor.lift", borrower_id, at=at, request_id=request_id,
                outcome=body.outcome)  # fmt: skip
    return done


@router.post("/{borrower_id}/contacts")
def add_person(
    borrower_id: BorrowerId,
    body: ContactPersonIn,
    request: Request,
    session: SessionDep,
    who: Managers,
) -> dict[str, Any]:
    """Store a third party or an attorney (number normalised to E.164)."""
    at = request.app.state.clock()
    made = add_contact(session, who, borrower_id, role=body.role, name=body.name,
                       relation=body.relation, number=body.number, at=at)  # fmt: skip
    audit_write(session, who, "debtor.contact", borrower_id, at=at, contact_id=made["contact_id"])
    return mask_personal(made, role=who.role)  # type: ignore[no-any-return]
