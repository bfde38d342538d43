"""Contacts: the caller names the case, channel and template; the server decides the rest."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from fengkong.api.deps import SessionDep, require
from fengkong.api.schemas import ContactIn, ContactOut, OutcomeIn
from fengkong.api.types import MAX_ROW_ID
from fengkong.services.access import Principal, audit_write
from fengkong.services.collections import (
    CONTACT_ATTEMPT,
    contact_request_detail,
    record_outcome,
    request_contact,
)

router = APIRouter(prefix="/v1/contacts", tags=["collections"])
Collectors = Annotated[Principal, Depends(require("admin", "collector"))]


@router.post(
    "",
    response_model=ContactOut,
    responses={
        200: {
            "links": {
                "RecordOutcome": {
                    "operationId": "record_outcome",
                    "parameters": {"log_id": "$response.body#/log_id"},
                }
            }
        }
    },
)
def contact(body: ContactIn, request: Request, session: SessionDep, who: Collectors) -> ContactOut:
    """Check a contact against the conduct rules now and log it, allowed or blocked.

    A collector may contact only on a case assigned to them; the time, debtor, number, zone,
    stop states and earlier contacts come from the server. With ``idempotency_key`` a retry
    answers the attempt already logged."""
    at = request.app.state.clock()
    result = request_contact(
        session,
        who,
        case_id=body.case_id,
        channel=body.channel,
        template_id=body.template_id,
        contact_id=body.contact_id,
        at=at,
        idempotency_key=body.idempotency_key,
    )
    if not result.replayed:
        for b in result.verdict.breaches:
            request.app.state.metrics.blocks.labels(b.rule).inc()
    detail = contact_request_detail(
        channel=body.channel,
        template_id=body.template_id,
        contact_id=body.contact_id,
        idempotency_key=body.idempotency_key,
    )
    audit_write(session, who, CONTACT_ATTEMPT, body.case_id, at=at, log_id=result.log_id,
                allowed=result.verdict.allowed, replayed=result.replayed, **detail)  # fmt: skip
    return ContactOut(
        log_id=result.log_id,
        allowed=result.verdict.allowed,
        breaches=[
            {"rule": b.rule, "message": b.message, "source": b.source}
            for b in result.verdict.breaches
        ],
    )


@router.post("/{log_id}/outcome", operation_id="record_outcome")
def outcome(
    log_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
    body: OutcomeIn,
    request: Request,
    session: SessionDep,
    who: Collectors,
) -> dict[str, str]:
    """Record what came of an allowed attempt (once, by whoever made it, with its recording;
    the same outcome sent again by them answers the same, recorded once)."""
    at = request.app.state.clock()
    new = record_outcome(
        session, log_id, body.outcome, at=at, who=who, recording_id=body.recording_id
    )
    audit_write(session, who, "contact.outcome", str(log_id), at=at, outcome=body.outcome,
                recording_id=body.recording_id, replayed=not new)  # fmt: skip
    return {"status": "recorded"}
