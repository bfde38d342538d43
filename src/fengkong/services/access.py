"""API keys with roles, the write audit log, and masking of personal data by role.

A key is shown once, when created; only its SHA-256 is stored. Roles: ``admin`` (everything),
``risk_analyst`` (policies, decisions, simulations), ``collector`` (their own cases and
contacts), ``auditor`` (read everything, personal data unmasked), ``service`` (decisions).
Personal data — phone numbers, id numbers, addresses — is masked for every role but
``admin`` and ``auditor``. A key's name is its holder's identity (the actor recorded for
every write, the author or approver in maker-checker), stored as
:func:`~fengkong.policy.versions.normalise_identity` makes it, one key per identity.

>>> mask_personal({"mobile": "13800138000", "age": 30}, role="risk_analyst")
{'mobile': '138****8000', 'age': 30}
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengkong.db.models import ApiKeyRecord, AuditLogRecord, CollectionCaseRecord
from fengkong.errors import InvalidArgumentError, NotFoundError
from fengkong.policy.versions import normalise_identity

__all__ = [
    "ROLES",
    "Principal",
    "audit_write",
    "authenticate",
    "create_api_key",
    "mask_personal",
    "owner_of",
    "workable_case",
]

ROLES = ("admin", "risk_analyst", "collector", "auditor", "service")
_SEES_PERSONAL = ("admin", "auditor")
_PERSONAL = re.compile(
    r"(phone|mobile|id_number|id_no|address|emergency_contact|bank_card|contact_name|contact_relation)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's name, role and (for a collector) their own id."""

    name: str
    role: str
    subject: str | None = None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(
    session: Session, *, name: str, role: str, at: dt.datetime, subject: str | None = None
) -> str:
    """Create a key and return it (the only time it is shown).

    ``name`` is stored normalised; a name that normalises to an existing key's name (``Alice``
    beside ``alice``) is refused: it would be the same identity.
    """
    given = name
    name = normalise_identity(name, field="name")
    if role not in ROLES:
        raise InvalidArgumentError("role", expected=f"one of {ROLES}", got=role)
    if role == "collector" and not subject:
        raise InvalidArgumentError(
            "subject", expected="the collector's id for a collector key", got=subject
        )
    if session.scalar(select(ApiKeyRecord.id).where(ApiKeyRecord.name == name)) is not None:
        raise InvalidArgumentError(
            "name",
            expected="a name no other key has (compared as a normalised identity)",
            got=given,
            note=f"a key for {name!r} exists",
        )
    key = f"fk_{secrets.token_urlsafe(24)}"
    session.add(
        ApiKeyRecord(name=name, role=role, subject=subject, key_hash=_digest(key), created_at=at)
    )
    session.flush()
    return key


def authenticate(session: Session, key: str | None) -> Principal | None:
    """The principal of a key, or None (unknown or revoked)."""
    if not key:
        return None
    row = session.scalar(
        select(ApiKeyRecord).where(
            ApiKeyRecord.key_hash == _digest(key), ApiKeyRecord.revoked.is_(False)
        )
    )
    return None if row is None else Principal(row.name, row.role, row.subject)


def audit_write(
    session: Session, who: Principal, action: str, target: str, *, at: dt.datetime, **detail: Any
) -> None:
    """Append a write to the audit log."""
    session.add(
        AuditLogRecord(
            actor=who.name, role=who.role, action=action, target=target, at=at, detail=detail
        )
    )


def _mask_value(value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return value if value is None else "***"
    if len(value) <= 4:
        return "*" * len(value)
    keep = 3 if len(value) >= 11 else 1
    return value[:keep] + "*" * (len(value) - keep - 4) + value[-4:]


def mask_personal(data: Any, *, role: str) -> Any:
    """``data`` with personal fields masked unless ``role`` may see them (recursively)."""
    if role in _SEES_PERSONAL:
        return data
    if isinstance(data, dict):
        return {
            k: _mask_value(v)
            if _PERSONAL.search(str(k)) and not isinstance(v, dict | list)
            else mask_personal(v, role=role)
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [mask_personal(v, role=role) for v in data]
    return data


_SEES_ALL = ("admin", "auditor", "risk_analyst")


def owner_of(who: Principal) -> str | None:
    """The collector id whose cases ``who`` may see; None for roles that see every case."""
    return None if who.role in _SEES_ALL else (who.subject or who.name)


def workable_case(session: Session, case_id: str, who: Principal) -> CollectionCaseRecord:
    """The case, if ``who`` may see it (a collector: only their own); else not found."""
    record = session.get(CollectionCaseRecord, case_id)
    mine = owner_of(who)
    if record is None or (mine is not None and record.assigned_to != mine):
        raise NotFoundError("case", case_id)
    return record
