"""Databases for integration tests: every test runs on SQLite and on the real PostgreSQL
(127.0.0.1:5432/test), each PostgreSQL test in its own schema, dropped afterwards."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from fengkong.db import make_engine

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fk.db'}"
        return
    schema = f"fk_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
