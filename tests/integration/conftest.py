"""Databases for integration tests: every test runs on SQLite and on a real PostgreSQL
(``postgres_url``: FENGKONG_TEST_POSTGRES_URL, default 127.0.0.1:5432/test, or a throw-away
server when that does not answer), each PostgreSQL test in its own schema, dropped afterwards; and the
HTTP service over such a database (``service``: keys for every role, the reference policy
submitted, two collection cases assigned to two collectors)."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from tests import _services

from fengkong.api import create_app
from fengkong.db import CollectionCaseRecord, make_engine
from fengkong.policy.examples import write_reference_policy
from fengkong.services.access import create_api_key
from fengkong.services.policies import submit_policy
from fengkong.settings import Settings

# The configured URL; the server the tests reach is ``postgres_url`` (tests/conftest.py).
POSTGRES = _services.configured_postgres_url()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fk.db'}"
        return
    postgres = request.getfixturevalue("postgres_url")  # started only when a test needs it
    schema = f"fk_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{postgres}{'&' if '?' in postgres else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    """The service's clock: a test moves it by setting ``clock.now``."""
    return SimpleNamespace(now=NOW)


@pytest.fixture
def service(database_url, tmp_path, clock):
    app = create_app(
        Settings(database_url=database_url, data_dir=tmp_path), clock=lambda: clock.now
    )
    keys = {}
    with app.state.sessions.begin() as s:
        for name, role, subject in (
            ("alice", "risk_analyst", None), ("bob", "risk_analyst", None), ("gate", "service", None),
            ("audrey", "auditor", None), ("carl", "collector", "C-7"), ("root", "admin", None),
        ):  # fmt: skip
            keys[name] = create_api_key(s, name=name, role=role, subject=subject, at=NOW)
        submit_policy(s, write_reference_policy(tmp_path / "policy"), author="alice", at=NOW)
        for case_id, debtor, collector in (("K1", "D1", "C-7"), ("K2", "D2", "C-9")):
            s.add(CollectionCaseRecord(
                case_id=case_id, borrower_id=debtor, status="open", stage="early", max_dpd=12,
                overdue_fen=50_000, balance_fen=400_000, loans=[], placement=None, p_pay=0.4,
                assigned_to=collector, plan=[], phone="13800138000", time_zone="Asia/Shanghai",
                opened_on=NOW.date(), updated_on=NOW.date(),
            ))  # fmt: skip
    client = TestClient(app)
    yield app, client, {k: {"X-API-Key": v} for k, v in keys.items()}
    app.state.engine.dispose()
