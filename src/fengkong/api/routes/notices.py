"""Collection notices: a validation notice (US) or a 催收函 (China), as HTML or PDF, logged as
a letter contact through the contact gate (a blocked letter is not issued: 409 with the breaches).

The sender (the lender's name, address, phone, website, lender type) is
``app.state.notice_sender`` when the deployment sets one (else a demo sender); the borrower's
name and address come from ``app.state.borrower_directory`` (a callable, borrower id →
``Addressee``) when set, else the notice is addressed to the mailing address on file.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ConfigDict, Field

from fengkong.api.deps import SessionDep, require
from fengkong.api.errors import error_body
from fengkong.api.types import RequestBody
from fengkong.collections.notices import DEMO_SENDER
from fengkong.services.access import Principal, audit_write
from fengkong.services.notices import issue_notice

router = APIRouter(prefix="/v1/collections", tags=["collections"])
Workers = Annotated[Principal, Depends(require("admin", "collector"))]
CaseId = Annotated[str, Path(max_length=64)]
LOG_HEADER = "X-Contact-Log-Id"


class NoticeIn(RequestBody):
    """Which notice, in which format; ``loan`` names the debt of a case with several loans."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["validation_notice", "cuishou_letter"]
    format: Literal["html", "pdf"] = "html"
    loan: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[\w.\-]+$")


_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The notice; its contact log id in X-Contact-Log-Id.",
        "content": {"text/html": {}, "application/pdf": {}},
    },
    409: {"description": "The contact gate blocked the letter: the breaches, nothing issued."},
}


@router.post("/cases/{case_id}/notices", response_class=Response, responses=_RESPONSES)
def notice(
    case_id: CaseId, body: NoticeIn, request: Request, session: SessionDep, who: Workers
) -> Response:
    """Issue a validation notice or 催收函 for a case as HTML or PDF, logged as a letter contact."""
    at = request.app.state.clock()
    state = request.app.state
    issued = issue_notice(
        session,
        who,
        case_id,
        body.kind,
        at=at,
        format=body.format,
        loan=body.loan,
        sender=getattr(state, "notice_sender", None) or DEMO_SENDER,
        directory=getattr(state, "borrower_directory", None),
    )
    for b in issued.verdict.breaches:
        state.metrics.blocks.labels(b.rule).inc()
    audit_write(session, who, "notice.issue", case_id, at=at, log_id=issued.log_id,
                kind=body.kind, format=body.format, allowed=issued.issued)  # fmt: skip
    headers = {LOG_HEADER: str(issued.log_id)}
    if issued.content is None:
        breaches = [
            {"rule": b.rule, "message": b.message, "source": b.source}
            for b in issued.verdict.breaches
        ]
        message = "the letter is blocked: " + "; ".join(b["rule"] for b in breaches)
        return JSONResponse(
            error_body("ContactBlocked", message, problems=breaches), 409, headers=headers
        )
    return Response(issued.content, media_type=issued.media_type, headers=headers)
