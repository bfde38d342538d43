"""What the server knows about a debtor: stop states in force and the people it may call.

A stop state is stored, never sent by a caller: a borrower's request (a dispute of a debt or an
amount, a cease-contact request for every channel or some, a hardship request) or a fact the
lender learned (a legal hold, the debtor's death, bankruptcy, representation by an attorney).
Each row says who set it and when it took effect, and who lifted it, when and why; rows are
never deleted, so the state at any past instant can be read back (:func:`stops_at`). Every
contact path — the contacts API, the workbench, the daily batch, agency placements and the
simulator — asks :func:`stop_states` before a contact.

Third parties (from the application) and attorneys are stored contacts with numbers in E.164;
a contact request names one by id, never by number.

>>> import datetime as dt
>>> from fengkong.db import make_engine, migrate, session_factory
>>> from fengkong.services.access import Principal
>>> engine = make_engine("sqlite://"); migrate(engine)
>>> at = dt.datetime(2026, 11, 24, 10, tzinfo=dt.UTC)
>>> root = Principal("root", "admin", None)
>>> from fengkong.money import Money
>>> from fengkong.services.servicing import book_loan
>>> from fengkong.servicing import LoanTerms, load_products
>>> terms = LoanTerms(load_products()["cash_loan"], Money.of("1000"), 0, 3, dt.date(2026, 9, 1))
>>> with session_factory(engine).begin() as s:
...     _ = book_loan(s, terms, external_id="L1", borrower_id="B1")
...     made = set_request(s, root, "B1", "cease_contact", at=at, channels=["call"], reason="asked by letter")
...     sorted(stop_states(stops_at(s, "B1", at), channel="robocall", contact=None))
['cease_request']
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fengkong.collections.content import normalise_number
from fengkong.collections.guardrails import CHANNELS
from fengkong.db.models import (
    CollectionCaseRecord,
    DebtorContactRecord,
    DebtorRequestRecord,
    LoanRecord,
)
from fengkong.errors import InvalidArgumentError, NotFoundError, WorkflowError
from fengkong.services.access import Principal

__all__ = [
    "REQUEST_KINDS",
    "add_contact",
    "attorney_on_record",
    "covered_channels",
    "debtor_contact",
    "lift_request",
    "list_requests",
    "set_request",
    "stop_states",
    "stops_at",
    "stops_by_borrower",
]

#: Each request kind and the stop state (a name in the contact-rule profiles) it puts in force.
REQUEST_KINDS: dict[str, str] = {
    "dispute": "disputed",
    "cease_contact": "cease_request",
    "hardship": "paused_hardship",
    "legal_hold": "legal_hold",
    "deceased": "deceased",
    "bankruptcy": "bankruptcy",
    "represented": "represented",
}
#: How a dispute ends: the debt verified (validation sent, collection may resume), upheld
#: (the debt or amount corrected) or withdrawn by the borrower.
DISPUTE_OUTCOMES = ("verified", "upheld", "withdrawn")
_ID = re.compile(r"^[\w.\-]{1,64}$")


def _borrower(session: Session, borrower_id: str) -> str:
    """A borrower the book knows (a loan or a case of theirs), else not found."""
    if not _ID.match(borrower_id):
        raise InvalidArgumentError(
            "borrower_id", expected="1 to 64 letters, digits, '.', '_' or '-'", got=borrower_id
        )
    known = session.scalar(
        select(LoanRecord.id).where(LoanRecord.borrower_id == borrower_id).limit(1)
    ) or session.scalar(
        select(CollectionCaseRecord.case_id)
        .where(CollectionCaseRecord.borrower_id == borrower_id)
        .limit(1)
    )
    if known is None:
        raise NotFoundError("borrower", borrower_id)
    return borrower_id


def add_contact(
    session: Session,
    who: Principal,
    borrower_id: str,
    *,
    role: str,
    name: str,
    number: str,
    at: dt.datetime,
    relation: str = "",
    region: str = "CN",
) -> dict[str, Any]:
    """Store a third party or an attorney of a borrower (the number normalised to E.164)."""
    _borrower(session, borrower_id)
    if role not in ("third_party", "attorney"):
        raise InvalidArgumentError("role", expected="third_party or attorney", got=role)
    if not 1 <= len(name.strip()) <= 128:
        raise InvalidArgumentError("name", expected="a name of 1 to 128 characters", got=name)
    e164 = normalise_number(number, region="US" if region == "US" else "CN")
    row = DebtorContactRecord(
        borrower_id=borrower_id,
        role=role,
        name=name.strip(),
        relation=relation[:32],
        number=e164,
        added_by=who.name,
        added_at=at,
    )
    session.add(row)
    session.flush()
    return {"contact_id": row.id, "role": role, "number": e164}


def debtor_contact(session: Session, borrower_id: str, contact_id: int) -> DebtorContactRecord:
    """A stored contact of this borrower (another borrower's contact is not found)."""
    row = session.get(DebtorContactRecord, contact_id)
    if row is None or row.borrower_id != borrower_id:
        raise NotFoundError("contact", contact_id)
    return row


def set_request(
    session: Session,
    who: Principal,
    borrower_id: str,
    kind: str,
    *,
    at: dt.datetime,
    reason: str,
    channels: Sequence[str] | None = None,
    loan_id: str | None = None,
    disputed_fen: int | None = None,
    attorney_contact_id: int | None = None,
) -> dict[str, Any]:
    """Put a stop state in force for a borrower from ``at`` (the server's clock).

    ``channels`` limits a cease-contact request (None: every channel); a dispute may name the
    loan and the disputed amount; ``represented`` names the attorney's stored contact (the
    attorney is then the only person who may be contacted).
    """
    _borrower(session, borrower_id)
    if kind not in REQUEST_KINDS:
        raise InvalidArgumentError("kind", expected=f"one of {sorted(REQUEST_KINDS)}", got=kind)
    if not 3 <= len(reason.strip()) <= 2000:
        raise InvalidArgumentError(
            "reason", expected="a reason of 3 to 2000 characters", got=reason
        )
    if channels is not None:
        if kind != "cease_contact":
            raise InvalidArgumentError(
                "channels", expected="channels only for cease_contact", got=channels
            )
        wrong = [c for c in channels if c not in CHANNELS]
        if wrong or not channels:
            raise InvalidArgumentError(
                "channels", expected=f"some of {CHANNELS}", got=list(channels)
            )
        channels = sorted(set(channels))
    if (loan_id is not None or disputed_fen is not None) and kind != "dispute":
        raise InvalidArgumentError("loan_id", expected="a loan only for a dispute", got=loan_id)
    if loan_id is not None:
        owner = session.scalar(
            select(LoanRecord.borrower_id).where(LoanRecord.external_id == loan_id)
        )
        if owner != borrower_id:
            raise NotFoundError("loan", loan_id)
    if disputed_fen is not None and not 0 < disputed_fen <= 10**12:
        raise InvalidArgumentError("disputed_fen", expected="1 to 10**12 fen", got=disputed_fen)
    if kind == "represented":
        if attorney_contact_id is None:
            raise InvalidArgumentError(
                "attorney_contact_id", expected="the attorney's stored contact id", got=None
            )
        if debtor_contact(session, borrower_id, attorney_contact_id).role != "attorney":
            raise InvalidArgumentError(
                "attorney_contact_id",
                expected="a contact stored as an attorney",
                got=attorney_contact_id,
            )
    elif attorney_contact_id is not None:
        raise InvalidArgumentError(
            "attorney_contact_id",
            expected="an attorney only for represented",
            got=attorney_contact_id,
        )
    row = DebtorRequestRecord(
        borrower_id=borrower_id,
        kind=kind,
        loan_id=loan_id,
        channels=channels,
        disputed_fen=disputed_fen,
        verification="pending" if kind == "dispute" else None,
        attorney_contact_id=attorney_contact_id,
        reason=reason.strip(),
        effective_from=at,
        set_by=who.name,
        set_at=at,
    )
    session.add(row)
    session.flush()
    return _plain(row)


def lift_request(
    session: Session,
    who: Principal,
    borrower_id: str,
    request_id: int,
    *,
    at: dt.datetime,
    reason: str,
    outcome: str | None = None,
) -> dict[str, Any]:
    """Lift a stop state from ``at``; a dispute ends with an ``outcome`` (verified, upheld,
    withdrawn). Lifting twice is refused."""
    row = session.get(DebtorRequestRecord, request_id)
    if row is None or row.borrower_id != borrower_id:
        raise NotFoundError("request", request_id)
    if row.lifted_at is not None:
        raise WorkflowError("lift a request", current="lifted", reason="it was lifted already")
    if not 3 <= len(reason.strip()) <= 2000:
        raise InvalidArgumentError(
            "reason", expected="a reason of 3 to 2000 characters", got=reason
        )
    if row.kind == "dispute":
        if outcome not in DISPUTE_OUTCOMES:
            raise InvalidArgumentError(
                "outcome", expected=f"one of {DISPUTE_OUTCOMES}", got=outcome
            )
        row.verification = outcome
    elif outcome is not None:
        raise InvalidArgumentError("outcome", expected="an outcome only for a dispute", got=outcome)
    row.lifted_at = max(at, _aware(row.effective_from))
    row.lifted_by = who.name
    row.lift_reason = reason.strip()
    session.flush()
    return _plain(row)


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)  # SQLite drops the zone


def _plain(row: DebtorRequestRecord) -> dict[str, Any]:
    def iso(value: dt.datetime | None) -> str | None:
        return None if value is None else _aware(value).isoformat()

    return {
        "request_id": row.id,
        "borrower_id": row.borrower_id,
        "kind": row.kind,
        "stop_state": REQUEST_KINDS[row.kind],
        "loan_id": row.loan_id,
        "channels": row.channels,
        "disputed_fen": row.disputed_fen,
        "verification": row.verification,
        "attorney_contact_id": row.attorney_contact_id,
        "reason": row.reason,
        "effective_from": iso(row.effective_from),
        "set_by": row.set_by,
        "lifted_at": iso(row.lifted_at),
        "lifted_by": row.lifted_by,
        "lift_reason": row.lift_reason,
    }


def list_requests(session: Session, borrower_id: str) -> list[dict[str, Any]]:
    """Every request of a borrower, lifted ones included, oldest first."""
    _borrower(session, borrower_id)
    rows = session.scalars(
        select(DebtorRequestRecord)
        .where(DebtorRequestRecord.borrower_id == borrower_id)
        .order_by(DebtorRequestRecord.id)
    )
    return [_plain(r) for r in rows]


def _in_force(at: dt.datetime) -> Any:
    return (DebtorRequestRecord.effective_from <= at) & or_(
        DebtorRequestRecord.lifted_at.is_(None), DebtorRequestRecord.lifted_at > at
    )


def stops_at(session: Session, borrower_id: str, at: dt.datetime) -> list[DebtorRequestRecord]:
    """The requests of a borrower in force at ``at``."""
    return list(
        session.scalars(
            select(DebtorRequestRecord).where(
                DebtorRequestRecord.borrower_id == borrower_id, _in_force(at)
            )
        )
    )


def stops_by_borrower(session: Session, at: dt.datetime) -> dict[str, list[DebtorRequestRecord]]:
    """Every borrower's requests in force at ``at`` (for the daily batch: one query)."""
    out: dict[str, list[DebtorRequestRecord]] = {}
    for row in session.scalars(select(DebtorRequestRecord).where(_in_force(at))):
        out.setdefault(row.borrower_id, []).append(row)
    return out


def stop_states(
    requests: Iterable[DebtorRequestRecord], *, channel: str, contact: DebtorContactRecord | None
) -> set[str]:
    """The stop states these requests put on a contact by ``channel`` to ``contact`` (None: the
    debtor): a cease request only on its channels; every other stop on every channel.
    Representation stops every contact but the attorney's (the guardrail lets an ``attorney``
    party through while ``represented`` is in force; :func:`attorney_on_record` makes sure it
    is the attorney on record)."""
    out = set()
    for r in requests:
        if (
            r.kind == "cease_contact"
            and r.channels is not None
            and channel not in covered_channels(r.channels)
        ):
            continue
        out.add(REQUEST_KINDS[r.kind])
    return out


#: A request not to be called covers robocalls too: both are telephone calls (Regulation F
#: 12 CFR 1006.14(h), a medium the consumer asked not to be used).
_SAME_MEDIUM = {"call": ("call", "robocall"), "robocall": ("call", "robocall")}


def covered_channels(channels: Iterable[str]) -> frozenset[str]:
    """The channels a cease request on ``channels`` stops (a call covers robocalls).

    >>> sorted(covered_channels(["call"]))
    ['call', 'robocall']
    """
    return frozenset(c for ch in channels for c in _SAME_MEDIUM.get(ch, (ch,)))


def attorney_on_record(
    requests: Iterable[DebtorRequestRecord], contact: DebtorContactRecord
) -> None:
    """Refuse an attorney contact that is not the attorney on record of a representation in force."""
    named = {
        r.attorney_contact_id
        for r in requests
        if r.kind == "represented" and r.attorney_contact_id is not None
    }
    if named and contact.id not in named:
        raise InvalidArgumentError(
            "contact_id", expected=f"the attorney on record (contact {min(named)})", got=contact.id
        )
