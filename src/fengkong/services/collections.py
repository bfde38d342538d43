"""Use cases for collections contacts: every attempt goes through the guardrail and the log.

:func:`attempt_contact` is the only way to make a contact: it reads the debtor's recent
history from the contact log (lender and agencies alike), runs
:func:`fengkong.collections.check_attempt`, and appends the attempt — allowed or blocked,
with every rule it broke — to ``contact_log`` in the same transaction. :func:`record_outcome`
appends what came of an allowed attempt (``contact_outcomes``); a blocked attempt has no
outcome, since it never happened. Nothing here updates or deletes a log row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengkong.collections.guardrails import (
    OUTCOMES,
    Attempt,
    CaseState,
    LoggedAttempt,
    Verdict,
    check_attempt,
)
from fengkong.collections.rules import ContactRules, load_contact_rules
from fengkong.db.models import ContactLogRecord, ContactOutcomeRecord
from fengkong.errors import InvalidArgumentError, NotFoundError, WorkflowError

__all__ = ["ContactResult", "attempt_contact", "contact_history", "record_outcome"]

_LOOKBACK = dt.timedelta(days=8)  # the longest rule looks back 7 days


@dataclass(frozen=True, slots=True)
class ContactResult:
    """The log id of the attempt and the guardrail's verdict."""

    log_id: int
    verdict: Verdict


def contact_history(session: Session, debtor_id: str, *, since: dt.datetime) -> list[LoggedAttempt]:
    """The debtor's logged attempts since ``since`` with their outcomes (``blocked`` for
    refused attempts, ``pending`` while no outcome is recorded)."""
    rows = session.execute(
        select(ContactLogRecord, ContactOutcomeRecord.outcome)
        .outerjoin(ContactOutcomeRecord, ContactOutcomeRecord.log_id == ContactLogRecord.id)
        .where(ContactLogRecord.debtor_id == debtor_id, ContactLogRecord.at >= since)
        .order_by(ContactLogRecord.at, ContactLogRecord.id)
    )
    out = []
    for log, outcome in rows:
        attempt = Attempt(
            log.case_id,
            log.debtor_id,
            log.channel,
            _aware(log.at),
            debtor_tz=log.debtor_tz,
            number=log.number,
            party=log.party,
            purpose=log.purpose,
            actor=log.actor,
            template=log.template,
            recording=frozenset(log.recording),
        )
        out.append(LoggedAttempt(attempt, "blocked" if not log.allowed else outcome or "pending"))
    return out


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)  # SQLite drops the zone


def attempt_contact(
    session: Session,
    attempt: Attempt,
    *,
    state: CaseState,
    jurisdiction: str,
    rules: ContactRules | None = None,
) -> ContactResult:
    """Check an attempt against the debtor's jurisdiction and log it, allowed or blocked."""
    rules = rules or load_contact_rules()
    profile = rules.profile(jurisdiction)
    history = contact_history(session, attempt.debtor_id, since=attempt.at - _LOOKBACK)
    verdict = check_attempt(attempt, history=history, state=state, profile=profile, rules=rules)
    record = ContactLogRecord(
        case_id=attempt.case_id,
        debtor_id=attempt.debtor_id,
        jurisdiction=jurisdiction,
        channel=attempt.channel,
        party=attempt.party,
        purpose=attempt.purpose,
        actor=attempt.actor,
        number=attempt.number,
        at=attempt.at.astimezone(dt.UTC),
        debtor_tz=attempt.debtor_tz,
        template=attempt.template,
        recording=sorted(attempt.recording),
        allowed=verdict.allowed,
        breaches=[
            {"rule": b.rule, "message": b.message, "source": b.source} for b in verdict.breaches
        ],
    )
    session.add(record)
    session.flush()
    return ContactResult(record.id, verdict)


def record_outcome(session: Session, log_id: int, outcome: str, *, at: dt.datetime) -> None:
    """Append what came of an allowed attempt (once)."""
    if outcome not in OUTCOMES:
        raise InvalidArgumentError("outcome", expected=f"one of {OUTCOMES}", got=outcome)
    log = session.get(ContactLogRecord, log_id)
    if log is None:
        raise NotFoundError("contact attempt", log_id)
    if not log.allowed:
        raise WorkflowError(
            "record an outcome", current="blocked", reason="a blocked attempt never happened"
        )
    if session.get(ContactOutcomeRecord, log_id) is not None:
        raise WorkflowError(
            "record an outcome", current="recorded", reason="the log is append-only: one outcome"
        )
    session.add(ContactOutcomeRecord(log_id=log_id, outcome=outcome, recorded_at=at))
    session.flush()
