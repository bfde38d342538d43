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
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import polars as pl
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fengkong.collections.daily import DayResult
from fengkong.collections.guardrails import (
    CHANNELS,
    OUTCOMES,
    Attempt,
    Breach,
    CaseState,
    LoggedAttempt,
    Verdict,
    check_attempt,
)
from fengkong.collections.rules import ContactProfile, ContactRules, load_contact_rules
from fengkong.collections.strategy import load_templates
from fengkong.db.models import (
    AuditLogRecord,
    CollectionCaseRecord,
    ContactLogRecord,
    ContactOutcomeRecord,
    LoanRecord,
)
from fengkong.errors import InvalidArgumentError, NotFoundError, WorkflowError
from fengkong.services.access import Principal, workable_case
from fengkong.services.debtors import attorney_on_record, debtor_contact, stop_states, stops_at
from fengkong.services.servicing import loan_id_for, loan_state

__all__ = [
    "CONTACT_ATTEMPT",
    "CONTACT_KEY_WINDOW",
    "ContactResult",
    "attempt_contact",
    "contact_history",
    "contact_request_detail",
    "debtor_unreachable",
    "live_case_status",
    "log_planned_contacts",
    "recent_contacts",
    "record_outcome",
    "request_contact",
]


@dataclass(frozen=True, slots=True)
class ContactResult:
    """The log id of the attempt and the guardrail's verdict; ``replayed`` when an idempotency
    key answered an attempt already logged (nothing new was checked or logged)."""

    log_id: int
    verdict: Verdict
    replayed: bool = False


CONTACT_ATTEMPT = "contact.attempt"
"""The audit action of a contact request; its detail holds the request's idempotency key."""

CONTACT_KEY_WINDOW = dt.timedelta(days=1)
"""How long a contact's idempotency key answers with the attempt first logged under it."""


def contact_request_detail(
    *, channel: str, template_id: str, contact_id: int | None, idempotency_key: str | None
) -> dict[str, Any]:
    """What the audit record of a contact request keeps to recognise a retry."""
    return {
        "channel": channel,
        "template_id": template_id,
        "contact_id": contact_id,
        "idempotency_key": idempotency_key,
    }


def _keyed_attempt(
    session: Session, who: Principal, case_id: str, request: dict[str, Any], at: dt.datetime
) -> ContactResult | None:
    """The attempt this caller already logged on the case under the request's key (within
    :data:`CONTACT_KEY_WINDOW`), or None; the same key on another request is refused. Read
    under the debtor's lock, so a simultaneous retry sees the first one's commit."""
    key = request["idempotency_key"]
    rows = session.scalars(
        select(AuditLogRecord.detail)
        .where(
            AuditLogRecord.action == CONTACT_ATTEMPT,
            AuditLogRecord.actor == who.name,
            AuditLogRecord.target == case_id,
            AuditLogRecord.at >= at - CONTACT_KEY_WINDOW,
        )
        .order_by(AuditLogRecord.id)
    )
    first = next((d for d in rows if d.get("idempotency_key") == key), None)
    if first is None:
        return None
    if any(first.get(k) != v for k, v in request.items()):
        raise InvalidArgumentError(
            "idempotency_key", expected="a key not used by another contact request", got=key
        )
    logged = session.get(ContactLogRecord, int(first["log_id"]))
    if logged is None:  # pragma: no cover - the log is append-only
        raise NotFoundError("contact", first["log_id"])
    breaches = tuple(Breach(**b) for b in logged.breaches)
    return ContactResult(logged.id, Verdict(breaches), replayed=True)


_HISTORY = (
    ContactLogRecord.case_id,
    ContactLogRecord.debtor_id,
    ContactLogRecord.channel,
    ContactLogRecord.at,
    ContactLogRecord.debtor_tz,
    ContactLogRecord.number,
    ContactLogRecord.party,
    ContactLogRecord.purpose,
    ContactLogRecord.actor,
    ContactLogRecord.template,
    ContactLogRecord.recording,
    ContactLogRecord.debts,
    ContactLogRecord.allowed,
    ContactOutcomeRecord.outcome,
)


def _history_query(since: dt.datetime) -> Any:
    return (
        select(*_HISTORY)
        .outerjoin(ContactOutcomeRecord, ContactOutcomeRecord.log_id == ContactLogRecord.id)
        .where(ContactLogRecord.at >= since)
        .order_by(ContactLogRecord.at, ContactLogRecord.id)
    )


def contact_history(session: Session, debtor_id: str, *, since: dt.datetime) -> list[LoggedAttempt]:
    """The debtor's logged attempts since ``since`` with their outcomes (``blocked`` for
    refused attempts, ``pending`` while no outcome is recorded)."""
    rows = session.execute(_history_query(since).where(ContactLogRecord.debtor_id == debtor_id))
    return [_logged(*row) for row in rows]


def recent_contacts(session: Session, *, since: dt.datetime) -> dict[str, list[LoggedAttempt]]:
    """Every debtor's logged attempts since ``since`` (the daily batch reads them in one query)."""
    out: dict[str, list[LoggedAttempt]] = {}
    for row in session.execute(_history_query(since)):
        out.setdefault(row[1], []).append(_logged(*row))
    return out


#: Channels the batch sends itself: each planned one is an attempt in the log (pending until
#: its delivery report). Calls and visits are work for people, logged when they are made.
AUTOMATED = ("sms", "robocall", "email", "letter")


def log_planned_contacts(session: Session, result: DayResult, *, profile: ContactProfile) -> int:
    """Append the day's automated contacts to the contact log, allowed or blocked, and every
    blocked planned contact of any channel; returns the rows written."""
    jurisdiction = next(
        (name for name, p in load_contact_rules().profiles.items() if p == profile), "cn"
    )
    acts = result.actions.filter(
        pl.col("planned_at").is_not_null()
        & (pl.col("action").is_in(AUTOMATED) | ~pl.col("allowed"))
    ).join(result.cases.select("case_id", "borrower_id", "loans"), on="case_id", how="left")
    if not acts.height:
        return 0
    texts = {k: v["text"] for k, v in load_templates().items()}
    recorded = {ch: json.dumps(sorted(profile.recording.get(ch, ()))) for ch in CHANNELS}
    loans = pl.DataFrame(
        session.execute(select(LoanRecord.id, LoanRecord.external_id)).all(),
        schema={"loan": pl.Int64, "external": pl.String},
        orient="row",
    )
    reach = pl.DataFrame(
        session.execute(
            select(
                CollectionCaseRecord.case_id,
                CollectionCaseRecord.phone,
                CollectionCaseRecord.time_zone,
            )
        ).all(),
        schema={"case_id": pl.String, "phone": pl.String, "time_zone": pl.String},
        orient="row",
    )
    acts = acts.with_row_index("__i")
    debts = (
        acts.select("__i", pl.col("loans").cast(pl.List(pl.Int64)))
        .explode("loans")
        .join(loans, left_on="loans", right_on="loan")
        .group_by("__i")
        .agg(pl.col("external").sort())
        .select("__i", pl.struct("external").struct.json_encode().str.slice(12).alias("debts"))
        .with_columns(pl.col("debts").str.head(-1))
    )
    blocked = {
        i: json.dumps([{"rule": b, "message": b, "source": "batch"} for b in rules or ()])
        for i, rules in acts.filter(~pl.col("allowed")).select("__i", "breaches").iter_rows()
    }
    sqlite = session.get_bind().dialect.name == "sqlite"
    stamp = "%Y-%m-%d %H:%M:%S.%6f" if sqlite else "%Y-%m-%d %H:%M:%S.%6f+00:00"
    frame = (
        acts.join(reach, on="case_id", how="left")
        .join(debts, on="__i", how="left")
        .sort("__i")
        .select(
            "case_id",
            pl.col("borrower_id").fill_null("").alias("debtor_id"),
            pl.lit(jurisdiction).alias("jurisdiction"),
            pl.col("action").alias("channel"),
            pl.lit("debtor").alias("party"),
            pl.lit("collect").alias("purpose"),
            pl.concat_str(pl.lit("batch:"), pl.col("action")).alias("actor"),
            pl.when(pl.col("action").is_in(["sms", "robocall"]))
            .then(pl.col("phone"))
            .alias("number"),
            pl.col("planned_at").dt.convert_time_zone("UTC").dt.strftime(stamp).alias("at"),
            pl.col("time_zone").alias("debtor_tz"),
            pl.col("template").replace_strict(texts, default="", return_dtype=pl.String),
            pl.col("action")
            .replace_strict(recorded, default="[]", return_dtype=pl.String)
            .alias("recording"),
            pl.col("debts").fill_null("[]"),
            pl.col("allowed").cast(pl.Int8) if sqlite else pl.col("allowed"),
            pl.col("__i")
            .replace_strict(blocked, default="[]", return_dtype=pl.String)
            .alias("breaches"),
        )
    )
    _append(session, "contact_log", frame)
    return frame.height


def _append(session: Session, table: str, frame: pl.DataFrame) -> None:
    """Append a frame's rows to a table at driver speed (values already in the column's stored
    form: JSON as text, times as text): SQLite ``executemany``, PostgreSQL ``COPY``."""
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    raw: Any = session.connection().connection.dbapi_connection  # the driver's own
    if session.get_bind().dialect.name == "sqlite":
        marks = ", ".join("?" * frame.width)
        raw.cursor().executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", frame.rows())
        return
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in frame.iter_rows():
            copy.write_row(row)


def _logged(
    case_id: str,
    debtor_id: str,
    channel: str,
    at: dt.datetime,
    debtor_tz: str | None,
    number: str | None,
    party: str,
    purpose: str,
    actor: str,
    template: str,
    recording: list[str] | None,
    debts: list[str] | None,
    allowed: bool,
    outcome: str | None,
) -> LoggedAttempt:
    attempt = Attempt(
        case_id,
        debtor_id,
        channel,
        _aware(at),
        debtor_tz=debtor_tz,
        number=number,
        party=party,
        purpose=purpose,
        actor=actor,
        template=template,
        recording=frozenset(recording or ()),
        debts=frozenset(debts or ()),
    )
    return LoggedAttempt(attempt, "blocked" if not allowed else outcome or "pending")


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)  # SQLite drops the zone


def attempt_contact(
    session: Session,
    attempt: Attempt,
    *,
    state: CaseState,
    jurisdiction: str,
    rules: ContactRules | None = None,
    history: Sequence[LoggedAttempt] | None = None,
) -> ContactResult:
    """Check an attempt against the debtor's jurisdiction and log it, allowed or blocked.

    ``history``: the debtor's logged attempts (read from the log when omitted). A contact
    logged for later the same day (the batch logs its SMS at their planned time) is already
    committed, so it counts as if made now.
    """
    rules = rules or load_contact_rules()
    profile = rules.profile(jurisdiction)
    if history is None:
        history = contact_history(session, attempt.debtor_id, since=attempt.at - profile.lookback)
    history = [
        h
        if h.attempt.at <= attempt.at
        else LoggedAttempt(replace(h.attempt, at=attempt.at), h.outcome)
        for h in history
    ]
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
        debts=sorted(attempt.debts),
        allowed=verdict.allowed,
        breaches=[
            {"rule": b.rule, "message": b.message, "source": b.source} for b in verdict.breaches
        ],
    )
    session.add(record)
    session.flush()
    return ContactResult(record.id, verdict)


#: Right-party contact has failed when the last ``_FAILED_TO_UNREACHABLE`` attempts to the
#: debtor in ``_UNREACHABLE_WINDOW`` all failed (unanswered, wrong party, failed) and none
#: connected: only then may a third party be asked to help locate them (lender policy).
_FAILED_TO_UNREACHABLE = 3
_UNREACHABLE_WINDOW = dt.timedelta(days=7)
_FAILED = ("unanswered", "wrong_party", "failed")


def debtor_unreachable(history: Sequence[LoggedAttempt], at: dt.datetime) -> bool:
    """Whether right-party contact has failed, read from the contact log (never the caller).

    >>> import datetime as dt
    >>> at = dt.datetime(2026, 3, 2, 2, tzinfo=dt.UTC)
    >>> tries = [LoggedAttempt(Attempt("C", "D", "call", at - dt.timedelta(hours=h)), "unanswered") for h in (1, 2, 3)]
    >>> debtor_unreachable(tries, at), debtor_unreachable(tries[:2], at)
    (True, False)
    """
    since = at - _UNREACHABLE_WINDOW
    to_debtor = [
        h
        for h in history
        if h.attempt.party == "debtor" and since < h.attempt.at <= at and h.outcome != "blocked"
    ]
    if any(h.outcome == "connected" for h in to_debtor):
        return False
    last = sorted(to_debtor, key=lambda h: h.attempt.at)[-_FAILED_TO_UNREACHABLE:]
    return len(last) == _FAILED_TO_UNREACHABLE and all(h.outcome in _FAILED for h in last)


def live_case_status(session: Session, case: CollectionCaseRecord, on: dt.date) -> set[str]:
    """Stop states the ledger puts on a case at ``on``: ``settled`` when every loan of the case
    is settled (a loan paid a minute ago stops contact, not tomorrow's run), ``not_overdue``
    when nothing is past due; the stored case status when the case is closed."""
    out = set()
    if case.status not in ("open", "recovery"):
        out.add(case.status)
    if not case.loans:
        return out
    states = [loan_state(session, loan_id_for(session, external), on) for external in case.loans]
    if all(s.status in ("settled", "closed") for s in states):
        out.add("settled")
    elif all(s.overdue.minor == 0 for s in states):
        out.add("not_overdue")
    return out


def _lock_debtor(session: Session, case_id: str) -> None:
    """Take the write lock on the debtor's cases first (a no-op update, the transaction's first
    statement): two contacts to one debtor check and log one after the other, so together they
    never exceed a limit (SQLite serialises writers; PostgreSQL locks the rows until the
    commit)."""
    debtor = (
        select(CollectionCaseRecord.borrower_id)
        .where(CollectionCaseRecord.case_id == case_id)
        .scalar_subquery()
    )
    session.execute(
        update(CollectionCaseRecord)
        .where(CollectionCaseRecord.borrower_id == debtor)
        .values(updated_on=CollectionCaseRecord.updated_on)
    )


def request_contact(
    session: Session,
    who: Principal,
    *,
    case_id: str,
    channel: str,
    template_id: str,
    at: dt.datetime,
    contact_id: int | None = None,
    templates: Mapping[str, Mapping[str, str]] | None = None,
    idempotency_key: str | None = None,
) -> ContactResult:
    """Check and log a contact the caller wants to make; the server supplies every fact.

    The caller names the case, the channel, the template and, for anyone but the debtor, the
    stored contact. The debtor, their number, time zone and jurisdiction come from the case;
    the instant is ``at`` (the service's clock); the stop states from the debtor's requests in
    force, the case's status and the ledger at that instant; the earlier contacts and whether
    the debtor is unreachable from the contact log; the recording the profile requires is made
    by the lender's dialler and its evidence is required with the outcome. A collector may
    contact only on a case assigned to them; a case that does not exist is not found.

    With an ``idempotency_key``, the same request again (same caller, case, channel, template
    and contact, within :data:`CONTACT_KEY_WINDOW`) answers the attempt first logged under the
    key and logs nothing; the key on another request is refused. The route stores the key in
    the request's audit record (:func:`contact_request_detail`).
    """
    _lock_debtor(session, case_id)
    case = workable_case(session, case_id, who)
    if idempotency_key is not None:
        request = contact_request_detail(
            channel=channel,
            template_id=template_id,
            contact_id=contact_id,
            idempotency_key=idempotency_key,
        )
        if (done := _keyed_attempt(session, who, case_id, request, at)) is not None:
            return done
    catalogue = templates if templates is not None else load_templates()
    template = catalogue.get(template_id)
    if template is None or template["channel"] != channel:
        raise InvalidArgumentError(
            "template_id",
            expected=f"a {channel} template of the catalogue",
            got=template_id,
        )
    rules = load_contact_rules()
    profile = rules.profile(case.jurisdiction or "cn")
    contact = None if contact_id is None else debtor_contact(session, case.borrower_id, contact_id)
    requests = stops_at(session, case.borrower_id, at)
    if contact is not None and contact.role == "attorney":
        attorney_on_record(requests, contact)
    holds = stop_states(requests, channel=channel, contact=contact)
    holds |= live_case_status(session, case, at.date())
    history = contact_history(
        session, case.borrower_id, since=at - max(profile.lookback, _UNREACHABLE_WINDOW)
    )
    party = "debtor" if contact is None else contact.role  # third_party or attorney
    third = party == "third_party"
    attempt = Attempt(
        case.case_id,
        case.borrower_id,
        channel,
        at,
        debtor_tz=case.time_zone,
        number=None
        if channel in ("letter", "email", "field_visit")
        else (contact.number if contact is not None else case.phone),
        party=party,
        purpose="locate" if third else "collect",
        actor=who.name,
        template=template["text"],
        template_id=template_id,
        recording=frozenset(profile.recording.get(channel, ())),
        debts=frozenset(case.loans),
    )
    state = CaseState(
        status="open",
        holds=frozenset(holds),
        debtor_unreachable=debtor_unreachable(history, at),
    )
    return attempt_contact(
        session,
        attempt,
        state=state,
        jurisdiction=case.jurisdiction or "cn",
        rules=rules,
        history=history,
    )


#: What can come of an attempt on each channel: a call is never "delivered" or "visited", so a
#: call counts towards the limits on connected and unanswered calls.
CHANNEL_OUTCOMES: dict[str, tuple[str, ...]] = {
    "call": ("connected", "unanswered", "wrong_party", "failed"),
    "robocall": ("connected", "unanswered", "wrong_party", "failed"),
    "sms": ("delivered", "failed"),
    "email": ("delivered", "failed"),
    "letter": ("delivered", "failed"),
    "field_visit": ("visited", "wrong_party", "failed"),
}
_EVIDENCE = re.compile(r"^[\w.:/\-]{1,128}$")
_SUPERVISORS = ("admin",)


def record_outcome(
    session: Session,
    log_id: int,
    outcome: str,
    *,
    at: dt.datetime,
    who: Principal | None = None,
    recording_id: str | None = None,
) -> bool:
    """Append what came of an allowed attempt (once), by the person who made it (or a supervisor).

    A channel the jurisdiction's profile requires recorded needs the recording's id as evidence.
    The same outcome sent again by the same person (a retry, or simultaneous copies) changes
    nothing and returns ``False``; another outcome after one is recorded is refused.
    """
    if outcome not in OUTCOMES:
        raise InvalidArgumentError("outcome", expected=f"one of {OUTCOMES}", got=outcome)
    session.execute(  # the attempt's write lock first: simultaneous copies queue, see below
        update(ContactLogRecord)
        .where(ContactLogRecord.id == log_id)
        .values(id=ContactLogRecord.id)
        .execution_options(synchronize_session=False)
    )
    log = session.get(ContactLogRecord, log_id)
    if log is None:
        raise NotFoundError("contact attempt", log_id)
    fits = CHANNEL_OUTCOMES.get(log.channel, OUTCOMES)
    if outcome not in fits:
        raise InvalidArgumentError(
            "outcome", expected=f"an outcome of a {log.channel}: one of {fits}", got=outcome
        )
    if who is not None and who.role not in _SUPERVISORS and log.actor != who.name:
        raise NotFoundError("contact attempt", log_id)  # another collector's: not theirs to see
    if not log.allowed:
        raise WorkflowError(
            "record an outcome", current="blocked", reason="a blocked attempt never happened"
        )
    held = session.get(ContactOutcomeRecord, log_id)
    if held is not None:
        if (held.outcome, held.recording_id, held.recorded_by) == (
            outcome,
            recording_id,
            who.name if who is not None else None,
        ):
            return False
        raise WorkflowError(
            "record an outcome", current="recorded", reason="the log is append-only: one outcome"
        )
    wanted = load_contact_rules().profile(log.jurisdiction).recording.get(log.channel, ())
    if recording_id is not None and not _EVIDENCE.match(recording_id):
        raise InvalidArgumentError(
            "recording_id", expected="1 to 128 letters, digits or . : / _ -", got=recording_id
        )
    if wanted and recording_id is None:
        raise InvalidArgumentError(
            "recording_id",
            expected=f"the id of the {'/'.join(wanted)} recording ({log.channel}s are recorded)",
            got=None,
        )
    session.add(
        ContactOutcomeRecord(
            log_id=log_id,
            outcome=outcome,
            recorded_at=at,
            recorded_by=who.name if who is not None else None,
            recording_id=recording_id,
        )
    )
    session.flush()
    return True
