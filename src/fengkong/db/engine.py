"""Engines, sessions and migrations, built from :class:`~fengkong.settings.Settings` at the edge."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from fengkong.jsonvalues import json_text
from fengkong.settings import Settings

__all__ = ["SQLITE_BUSY_TIMEOUT_S", "make_engine", "migrate", "session_factory"]

SQLITE_BUSY_TIMEOUT_S = 15.0
"""How long a SQLite write waits for another connection's write lock (the service's workers
share one file) before it fails with "database is locked". Writers hold the lock only from
their first write to their commit (milliseconds), so a queue of simultaneous writers drains
well within it; a request that still fails answers 503, never 500."""


def make_engine(settings_or_url: Settings | str, **kwargs: Any) -> Engine:
    """An engine for the settings' database; SQLite gets foreign keys, write-ahead logging,
    transactions begun by SQLAlchemy, a busy timeout (:data:`SQLITE_BUSY_TIMEOUT_S`; several
    service workers share one file; ``connect_args={"timeout": ...}`` overrides it) and a
    created folder."""
    url = (
        settings_or_url
        if isinstance(settings_or_url, str)
        else settings_or_url.resolved_database_url()
    )
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        # the driver's busy handler: a writer waits this long for another worker's write lock
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S} | dict(kwargs.pop("connect_args", {}))
        kwargs["connect_args"] = connect_args
    engine = create_engine(url, json_serializer=json_text, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if not url.startswith("sqlite:///:memory:"):
                cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
                cursor.execute(
                    "PRAGMA synchronous=NORMAL"
                )  # durable at checkpoints, as WAL intends
            cursor.close()
            # SQLAlchemy, not the driver, starts transactions (see "begin" below)
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # a deferred transaction: reads take no lock; a write waits its turn behind another
            # worker's (busy timeout). Write paths start with their write: a transaction that
            # read first and then writes cannot wait (its snapshot may be stale) and fails at
            # once with "database is locked" when another worker wrote meanwhile.
            conn.exec_driver_sql("BEGIN")

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that do not expire objects on commit."""
    return sessionmaker(engine, expire_on_commit=False)


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("fengkong.db").joinpath("migrations"))
    )
    config.attributes["connection_engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` with Alembic (``fengkong/db/migrations``)."""
    command.upgrade(_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to ``revision``."""
    command.downgrade(_config(engine), revision)
