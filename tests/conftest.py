"""Shared fixtures: small synthetic books, generated once per session; the PostgreSQL and Redis
the tests use (the configured ones, or throw-away ones started for the session: ``tests/_services.py``)."""

from __future__ import annotations

from types import ModuleType

import pytest

from fengkong.synth import SyntheticBook, generate
from tests import _services


@pytest.fixture(scope="session")
def small_book() -> SyntheticBook:
    """20,000 applications, seed 11: big enough to hold rings, defaults and write-offs."""
    return generate(20_000, seed=11)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A PostgreSQL URL (SQLAlchemy form) with a database the tests may use: the configured one
    (``FENGKONG_TEST_POSTGRES_URL``, default 127.0.0.1:5432/test) if it answers, else a throw-away
    server's."""
    return _services.postgres_url()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis URL: the configured one (``FENGKONG_TEST_REDIS_URL``, default 127.0.0.1:6379/0) if it
    answers, else a throw-away server's."""
    return _services.redis_url()


def _uses(module: ModuleType | None, package: str) -> bool:
    """Whether a test module imported ``package`` (a module, or a name defined in it)."""
    if module is None:
        return False
    for value in vars(module).values():
        try:
            owner = value.__name__ if isinstance(value, ModuleType) else value.__module__
        except Exception:  # no owner to tell
            continue
        if isinstance(owner, str) and owner.split(".", 1)[0] == package:
            return True
    return False


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests that talk to PostgreSQL or Redis at the default address without a fixture (they
    import psycopg or redis) get the server up first: a throw-away one takes the default port
    when it is free."""
    module = getattr(item, "module", None)
    if _uses(module, "psycopg"):
        _services.postgres_url()
    if _uses(module, "redis"):
        _services.redis_url()


_STARTED = pytest.StashKey[dict[str, str]]()


def pytest_sessionfinish(session: pytest.Session) -> None:
    session.config.stash[_STARTED] = _services.started()
    _services.stop_all()


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    for name, url in config.stash.get(_STARTED, {}).items():
        terminalreporter.write_line(
            f"{name}: the configured server did not answer; the tests used a throw-away one at "
            f"{url} (stopped)"
        )
