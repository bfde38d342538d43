"""Issue a collection notice: render it from the ledger, then log it as a letter contact.

:func:`issue_notice` reads the case (borrower, loans, jurisdiction, time zone) and each loan's
state from the ledger on the sending day, builds the notice
(:mod:`fengkong.collections.notices`), checks its content and renders it (HTML or PDF) — a
notice that cannot be rendered is never logged — and then sends it through the contact gate,
:func:`fengkong.services.collections.request_contact`, as a ``letter`` with the template
``validation_notice`` or ``cuishou_letter``. A blocked verdict (a stop state, a frequency
limit) means the notice is not issued: the result carries the breaches and no document. The
contact log row is the record; nothing else is stored.

The database holds no borrower name or mailing address: a ``directory`` (borrower id →
:class:`~fengkong.collections.notices.Addressee`) supplies them; without one the notice names
the borrower by id and is addressed to the mailing address on file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengkong.collections.guardrails import Verdict
from fengkong.collections.notices import (
    DEMO_SENDER,
    Addressee,
    CuishouLetter,
    NoticeSender,
    ValidationNotice,
    check_notice,
    cuishou_letter,
    itemization_date,
    render_html,
    render_pdf,
    validation_notice,
)
from fengkong.db.models import CollectionCaseRecord, LoanEventRecord
from fengkong.errors import InvalidArgumentError, WorkflowError
from fengkong.services.access import Principal, workable_case
from fengkong.services.collections import request_contact
from fengkong.services.servicing import loan_id_for, loan_state
from fengkong.servicing.statement import legal_statement

__all__ = ["NOTICE_TEMPLATES", "IssuedNotice", "NoticeFormat", "NoticeKind", "issue_notice"]

NoticeKind = Literal["validation_notice", "cuishou_letter"]
NoticeFormat = Literal["html", "pdf"]
Directory = Callable[[str], Addressee | None]

#: The letter templates the contact gate checks and logs for each notice.
NOTICE_TEMPLATES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "validation_notice": MappingProxyType(
            {
                "channel": "letter",
                "text": "Validation notice (Regulation F, 12 CFR 1006.34): the amount of the "
                "debt, its itemization, and how to dispute it by the validation period end.",
            }
        ),
        "cuishou_letter": MappingProxyType(
            {
                "channel": "letter",
                "text": "催收函：依法应还金额逐项列明、规则与依据、还款方式、异议方式及您的权利。",
            }
        ),
    }
)
_MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


@dataclass(frozen=True, slots=True)
class IssuedNotice:
    """The contact log id, the gate's verdict and, when it allowed the letter, the notice and
    its rendering (``content`` of ``media_type``); a blocked notice has neither."""

    kind: NoticeKind
    log_id: int
    verdict: Verdict
    notice: ValidationNotice | CuishouLetter | None
    content: bytes | None
    media_type: str

    @property
    def issued(self) -> bool:
        return self.verdict.allowed


def _sending_day(case: CollectionCaseRecord, at: dt.datetime) -> dt.date:
    """The notice's date: ``at`` in the debtor's time zone (UTC when it is unknown)."""
    try:
        zone = ZoneInfo(case.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return at.astimezone(zone).date()


def _charged_off_on(session: Session, loan_id: int, on: dt.date) -> dt.date | None:
    return session.scalar(
        select(func.max(LoanEventRecord.on)).where(
            LoanEventRecord.loan_id == loan_id,
            LoanEventRecord.kind == "WriteOff",
            LoanEventRecord.on <= on,
        )
    )


def _default_addressee(case: CollectionCaseRecord, kind: NoticeKind) -> Addressee:
    if kind == "cuishou_letter":
        return Addressee(f"借款人（编号 {case.borrower_id}）", ("以档案登记的通讯地址为准",))
    return Addressee(f"Borrower {case.borrower_id}", ("Mailing address on file",))


def _pick_loans(case: CollectionCaseRecord, loan: str | None, kind: NoticeKind) -> list[str]:
    """The case's loans the notice covers: ``loan`` when named (one of the case's); else all
    of them — a validation notice is per debt, so only when the case has exactly one."""
    if loan is None and (kind == "cuishou_letter" or len(case.loans) == 1):
        return list(case.loans)
    if loan is None or loan not in case.loans:
        raise InvalidArgumentError(
            "loan",
            expected=f"one of the case's loans {sorted(case.loans)} (a validation notice is "
            "per debt)",
            got=loan,
        )
    return [loan]


def _validation(
    session: Session, loan: str, *, on: dt.date, sender: NoticeSender, addressee: Addressee
) -> ValidationNotice:
    loan_id = loan_id_for(session, loan)
    now = loan_state(session, loan_id, on)
    day, basis = itemization_date(now, charged_off_on=_charged_off_on(session, loan_id, on))
    then = loan_state(session, loan_id, day)
    return validation_notice(
        then, now, basis=basis, account=loan, sender=sender, addressee=addressee, sent_on=on
    )


def _cuishou(
    session: Session, loans: list[str], *, on: dt.date, sender: NoticeSender, addressee: Addressee
) -> CuishouLetter:
    stated = []
    for external in loans:
        state = loan_state(session, loan_id_for(session, external), on)
        if state.status == "settled":
            continue  # nothing is demanded on a settled loan
        statement = legal_statement(state, jurisdiction="cn", lender_type=sender.lender_type)
        stated.append((external, state, statement))
    if not stated:
        raise WorkflowError(
            "issue a 催收函", current="nothing owed", reason="every loan of the case is settled"
        )
    return cuishou_letter(stated, sender=sender, addressee=addressee, sent_on=on)


def _kind_for(case: CollectionCaseRecord, kind: str) -> NoticeKind:
    """``kind`` when it is the notice of the case's jurisdiction and the case has loans."""
    jurisdiction = case.jurisdiction or "cn"
    named: NoticeKind
    if kind == "validation_notice" and jurisdiction == "us":
        named = "validation_notice"
    elif kind == "cuishou_letter" and jurisdiction == "cn":
        named = "cuishou_letter"
    else:
        wanted = {"us": "validation_notice", "cn": "cuishou_letter"}.get(jurisdiction)
        raise InvalidArgumentError(
            "kind",
            expected=f"the notice of a {jurisdiction} case ({wanted or 'none is defined'})",
            got=kind,
        )
    if not case.loans:
        raise WorkflowError("issue a notice", current="no loans", reason="the case has no loans")
    return named


def issue_notice(
    session: Session,
    who: Principal,
    case_id: str,
    kind: str,
    *,
    at: dt.datetime,
    format: str = "html",
    loan: str | None = None,
    sender: NoticeSender = DEMO_SENDER,
    directory: Directory | None = None,
) -> IssuedNotice:
    """Build, check and render a notice for a case, then log it through the contact gate.

    ``kind``: ``validation_notice`` (a ``us`` case; ``loan`` names the debt when the case has
    several) or ``cuishou_letter`` (a ``cn`` case: every loan not settled, or ``loan``);
    ``format``: ``html``
    or ``pdf``; ``at``: the service's clock. A collector may issue only on their own cases.
    """
    if format not in _MEDIA:
        raise InvalidArgumentError("format", expected="html or pdf", got=format)
    case = workable_case(session, case_id, who)
    named = _kind_for(case, kind)
    loans = _pick_loans(case, loan, named)
    on = _sending_day(case, at)
    found = directory(case.borrower_id) if directory is not None else None
    addressee = found or _default_addressee(case, named)
    notice: ValidationNotice | CuishouLetter
    if named == "validation_notice":
        notice = _validation(session, loans[0], on=on, sender=sender, addressee=addressee)
    else:
        notice = _cuishou(session, loans, on=on, sender=sender, addressee=addressee)
    check_notice(notice)
    content = render_pdf(notice) if format == "pdf" else render_html(notice).encode()
    result = request_contact(
        session,
        who,
        case_id=case.case_id,
        channel="letter",
        template_id=kind,
        at=at,
        templates=NOTICE_TEMPLATES,
    )
    allowed = result.verdict.allowed
    return IssuedNotice(
        named,
        result.log_id,
        result.verdict,
        notice if allowed else None,
        content if allowed else None,
        _MEDIA[format],
    )
