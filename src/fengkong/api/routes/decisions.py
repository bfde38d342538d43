"""Decisions: decide an application (stored with its audit record), search, get with trace."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import select

from fengkong.api.deps import SessionDep, require
from fengkong.api.schemas import DecisionIn, DecisionOut
from fengkong.db.models import DecisionRecord
from fengkong.policy.audit import json_ready
from fengkong.services.access import Principal, mask_personal
from fengkong.services.policies import get_decision, new_decision_id

router = APIRouter(prefix="/v1/decisions", tags=["decisions"])
Deciders = Annotated[Principal, Depends(require("admin", "service", "risk_analyst"))]
Readers = Annotated[Principal, Depends(require("admin", "risk_analyst", "auditor", "service"))]


@router.post(
    "",
    response_model=DecisionOut,
    responses={
        200: {
            "links": {
                "GetDecision": {
                    "operationId": "get_decision",
                    "parameters": {"decision_id": "$response.body#/decision_id"},
                }
            }
        }
    },
)
async def decide(body: DecisionIn, request: Request, who: Deciders) -> DecisionOut:
    """Decide one application with the active policy; the full audit record is stored."""
    # async: deciding takes microseconds; the record is committed by the worker's writer
    # thread together with the others arriving at the same time, and the response waits
    # for that commit (a 200 always means a stored audit record)
    state = request.app.state
    policy = state.policies.active(body.policy or state.default_policy)
    at = state.clock()
    decided = state.online.decide(policy, body.application, body.identifiers, now=at)
    decision, key = decided.decision, new_decision_id(at)
    await state.writer.write(decided, at=at, decision_id=key, application_id=body.application_id)
    state.metrics.decisions.labels(policy.name, decision.decision).inc()
    return DecisionOut(
        decision_id=key,
        decision=decision.decision,
        reasons=list(decision.reasons),
        outputs=json_ready(decision.outputs),
        policy=decision.policy,
        version=decision.version,
        arm=decision.arm,
    )


@router.get("")
def search(
    session: SessionDep,
    who: Readers,
    decision: Annotated[str | None, Query(pattern="^(approve|decline|refer)$")] = None,
    policy: Annotated[str | None, Query(max_length=64)] = None,
    application_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[dict[str, Any]]:
    """Recent decisions, newest first, filtered by outcome, policy or application."""
    query = select(DecisionRecord).order_by(DecisionRecord.decided_at.desc()).limit(limit)
    if decision:
        query = query.where(DecisionRecord.decision == decision)
    if policy:
        query = query.where(DecisionRecord.policy == policy)
    if application_id:
        query = query.where(DecisionRecord.application_id == application_id)
    found = [
        {
            "decision_id": r.id,
            "application_id": r.application_id,
            "decision": r.decision,
            "reasons": r.reasons,
            "policy": r.policy,
            "version": r.version,
            "arm": r.arm,
            "decided_at": r.decided_at.isoformat()
            if isinstance(r.decided_at, dt.datetime)
            else r.decided_at,
        }
        for r in session.scalars(query)
    ]
    return mask_personal(found, role=who.role)  # type: ignore[no-any-return]


@router.get("/{decision_id}", operation_id="get_decision")
def trace(
    decision_id: Annotated[str, Path(max_length=64)], session: SessionDep, who: Readers
) -> dict[str, Any]:
    """One decision with its trace (personal data masked unless the role needs it)."""
    found = json_ready(get_decision(session, decision_id))
    return mask_personal(found, role=who.role)  # type: ignore[no-any-return]
