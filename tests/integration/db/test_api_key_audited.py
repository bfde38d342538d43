"""Creating an API key is a write like any other: it leaves an audit row naming who created
which key for which role, and never the key or its hash."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from fengkong.db import AuditLogRecord, make_engine, migrate, session_factory
from fengkong.services.access import SYSTEM, Principal, create_api_key

NOW = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


def test_key_creation_is_audited_by_its_creator_or_the_system():
    engine = make_engine("sqlite:///:memory:")
    migrate(engine)
    with session_factory(engine).begin() as s:
        first = create_api_key(s, name="Alice", role="risk_analyst", at=NOW)
        second = create_api_key(s, name="carl", role="collector", subject="C-7", at=NOW,
                                by=Principal("root", "admin"))  # fmt: skip
    with session_factory(engine)() as s:
        rows = s.scalars(select(AuditLogRecord).order_by(AuditLogRecord.id)).all()
    got = [(r.actor, r.role, r.action, r.target, r.detail) for r in rows]
    assert got == [
        (SYSTEM.name, "admin", "key.create", "alice", {"role": "risk_analyst", "subject": None}),
        ("root", "admin", "key.create", "carl", {"role": "collector", "subject": "C-7"}),
    ]
    assert all(r.at.replace(tzinfo=dt.UTC) == NOW for r in rows)
    text = repr(got)
    assert first not in text and second not in text
