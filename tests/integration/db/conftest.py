"""Database fixtures: an engine migrated to head on each database of ``database_url``."""

from __future__ import annotations

import pytest

from fengkong.db import make_engine, migrate, session_factory


@pytest.fixture
def engine(database_url):
    eng = make_engine(database_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine):
    return session_factory(engine)
