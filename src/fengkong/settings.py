"""Runtime settings, read from ``FENGKONG_*`` environment variables at the edge.

Settings are built once by the CLI or the service and passed in; library code never reads
the environment. The embedded default is SQLite under :attr:`Settings.data_dir`.

Examples
--------
>>> from pathlib import Path
>>> s = Settings(data_dir=Path("/tmp/fk"))
>>> s.resolved_database_url()
'sqlite:////tmp/fk/fengkong.db'
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """fengkong's settings; each field can be set as ``FENGKONG_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="FENGKONG_", extra="forbid", frozen=True)

    data_dir: Path = Field(
        default=Path("fengkong-data"),
        description="Folder for the embedded SQLite database and generated files.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; None means SQLite at <data_dir>/fengkong.db. "
        "PostgreSQL: postgresql+psycopg://user@127.0.0.1:5432/db",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL for online state shared across workers; None keeps it in process.",
    )
    currency: str = Field(default="CNY", description="ISO 4217 currency of the book.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="WARNING")

    def resolved_database_url(self) -> str:
        """The database URL in force: the explicit one, or SQLite under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'fengkong.db').as_posix()}"
