"""Contacts: every attempt goes through the guardrails server-side and into the contact log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from fengkong.api.deps import SessionDep, require
from fengkong.api.schemas import ContactIn, ContactOut, OutcomeIn
from fengkong.collections.guardrails import Attempt, CaseState
from fengkong.services.access import Principal, audit_write
from fengkong.services.casework import owner_of, workable_case
from fengkong.services.collections import attempt_contact, record_outcome

router = APIRouter(prefix="/v1/contacts", tags=["collections"])
Collectors = Annotated[Principal, Depends(require("admin", "collector"))]


@router.post("", response_model=ContactOut)
def contact(body: ContactIn, request: Request, session: SessionDep, who: Collectors) -> ContactOut:
    """Check a contact attempt against the conduct rules and log it, allowed or blocked.

    A collector may contact only on a case assigned to them."""
    if owner_of(who) is not None:
        workable_case(session, body.case_id, who)
    attempt = Attempt(
        body.case_id,
        body.debtor_id,
        body.channel,
        body.at,
        debtor_tz=body.debtor_tz,
        number=body.number,
        party=body.party,
        purpose=body.purpose,
        actor=who.name,
        template=body.template,
        recording=frozenset(body.recording),
    )
    state = CaseState(
        status=body.case_status,
        holds=frozenset(body.holds),
        debtor_unreachable=body.debtor_unreachable,
    )
    result = attempt_contact(session, attempt, state=state, jurisdiction=body.jurisdiction)
    for b in result.verdict.breaches:
        request.app.state.metrics.blocks.labels(b.rule).inc()
    audit_write(session, who, "contact.attempt", body.case_id, at=request.app.state.clock(),
                log_id=result.log_id, allowed=result.verdict.allowed)  # fmt: skip
    return ContactOut(
        log_id=result.log_id,
        allowed=result.verdict.allowed,
        breaches=[
            {"rule": b.rule, "message": b.message, "source": b.source}
            for b in result.verdict.breaches
        ],
    )


@router.post("/{log_id}/outcome")
def outcome(
    log_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: OutcomeIn,
    request: Request,
    session: SessionDep,
    who: Collectors,
) -> dict[str, str]:
    """Record what came of an allowed attempt (once)."""
    at = request.app.state.clock()
    record_outcome(session, log_id, body.outcome, at=at)
    audit_write(session, who, "contact.outcome", str(log_id), at=at, outcome=body.outcome)
    return {"status": "recorded"}
