"""Web UI sessions: the cookie holds a random session id, never the API key.

Logging in with a key makes a session: 32 random bytes (``secrets.token_urlsafe``) go to the
browser in an HTTP-only, ``SameSite=Lax`` cookie (``Secure`` when the request came over HTTPS);
the database keeps only their SHA-256, bound to the key that logged in and an expiry
(:data:`SESSION_LIFETIME` after login, by the wall clock — not the service's business clock).
Being in the database, a session made through one worker works on every other; a revoked key
ends its sessions at once; logging out deletes the session.

Every form that posts carries a CSRF token bound to the session: an HMAC of the session id
(so it needs no storage and changes with each login), checked on every UI POST (403 on a
mismatch). The login form, before any session, uses a double-submit token: a random value in
a short-lived cookie and in the form, which must agree.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from fengkong.db.models import ApiKeyRecord, UiSessionRecord
from fengkong.services.access import Principal, authenticate

__all__ = [
    "SESSION_LIFETIME",
    "csrf_token",
    "end_session",
    "principal_of",
    "same_token",
    "start_session",
]

SESSION_LIFETIME = dt.timedelta(hours=8)  # one working day (a re-login each day)


def _wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


Clock = Callable[[], dt.datetime]


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _utc(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def start_session(
    sessions: sessionmaker[Session], key: str, *, clock: Clock = _wall_clock
) -> tuple[str, Principal] | None:
    """A new session for ``key`` (its id, shown once, and the principal), or None when the
    key is not live. Expired sessions are swept away on the way."""
    now = clock()
    with sessions.begin() as s:
        who = authenticate(s, key)
        if who is None:
            return None
        key_id = s.scalar(select(ApiKeyRecord.id).where(ApiKeyRecord.name == who.name))
        s.execute(delete(UiSessionRecord).where(UiSessionRecord.expires_at <= now))
        session_id = secrets.token_urlsafe(32)
        s.add(
            UiSessionRecord(
                id_hash=_digest(session_id),
                key_id=key_id,
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
    return session_id, who


def principal_of(
    sessions: sessionmaker[Session], session_id: str | None, *, clock: Clock = _wall_clock
) -> Principal | None:
    """The principal of a live session (unexpired, its key not revoked), else None."""
    if not session_id or len(session_id) > 128:
        return None
    with sessions() as s:
        row = s.execute(
            select(ApiKeyRecord.name, ApiKeyRecord.role, ApiKeyRecord.subject,
                   UiSessionRecord.expires_at)
            .join(UiSessionRecord, UiSessionRecord.key_id == ApiKeyRecord.id)
            .where(UiSessionRecord.id_hash == _digest(session_id),
                   ApiKeyRecord.revoked.is_(False))
        ).first()  # fmt: skip
    if row is None or _utc(row.expires_at) <= _utc(clock()):
        return None
    return Principal(row.name, row.role, row.subject)


def end_session(sessions: sessionmaker[Session], session_id: str | None) -> None:
    """Delete the session (logging out); an unknown id is a no-op."""
    if session_id and len(session_id) <= 128:
        with sessions.begin() as s:
            s.execute(delete(UiSessionRecord).where(UiSessionRecord.id_hash == _digest(session_id)))


def csrf_token(session_id: str) -> str:
    """The CSRF token of a session: an HMAC of its id (only the session's holder can know it)."""
    return hmac.new(session_id.encode(), b"fengkong-ui-csrf", hashlib.sha256).hexdigest()


def same_token(expected: str | None, given: str | None) -> bool:
    """Whether ``given`` is the expected token (compared in constant time; empty never is)."""
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))
