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

__all__ = ["make_engine", "migrate", "session_factory"]


def make_engine(settings_or_url: Settings | str, **kwargs: Any) -> Engine:
    """An engine for the settings' database; SQLite gets foreign keys, write-ahead logging,
    transactions begun by SQLAlchemy with a busy timeout (several service workers share one
    file) and a created folder."""
    url = (
        settings_or_url
        if isinstance(settings_or_url, str)
        else settings_or_url.resolved_database_url()
    )
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, json_serializer=json_text, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")  # wait for another writer (workers)
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
            # worker's (busy timeout). Write paths start with their write.
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
