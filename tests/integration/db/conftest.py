"""Database fixtures: every test runs on SQLite and on the real PostgreSQL (127.0.0.1:5432/test).

Each PostgreSQL test gets its own schema, dropped afterwards; migrations run for real.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from fengkong.db import make_engine, migrate, session_factory

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'fk.db'}")
        migrate(eng)
        yield eng
        eng.dispose()
        return
    schema = f"fk_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = make_engine(POSTGRES, connect_args={"options": f"-csearch_path={schema}"})
    migrate(eng)
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sessions(engine):
    return session_factory(engine)
