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
from typing import TYPE_CHECKING, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from fengkong.expression import ExpressionLimits

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
    max_body_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        le=256 * 1024 * 1024,
        description="Largest request body the service reads (413 above it, before parsing); "
        "4 MiB holds the largest policy text a validation accepts (2M characters).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="WARNING")
    policy_max_expression_chars: int = Field(
        default=4_000, ge=10, le=100_000, description="Longest expression text a policy may hold."
    )
    policy_max_expression_depth: int = Field(
        default=40,
        ge=2,
        le=60,
        description="Deepest nesting of an expression (the generated Python must compile).",
    )
    policy_max_expression_nodes: int = Field(
        default=1_000, ge=2, le=5_000, description="Most syntax nodes in one expression."
    )

    decision_late_seconds: int = Field(
        default=900,
        ge=0,
        le=86_400,
        description="How far before the server clock a caller's applied_at may be (an "
        "application received a little earlier); older history is replayed, not decided live.",
    )
    decision_skew_seconds: int = Field(
        default=60,
        ge=0,
        le=3_600,
        description="How far after the server clock a caller's applied_at may be (clock skew).",
    )
    collections_min_case_fen: int = Field(
        default=1_000,
        ge=0,
        le=10_000_000,
        description="The de-minimis arrears (fen) below which no collection case is opened "
        "and an open one closes as cured: 1,000 fen = CNY 10. Reason: a few fen or jiao left "
        "by rounding (a schedule's day count, a scaled repayment) is not a debt worth a "
        "collector's call or a notice, and pursuing it costs more than it recovers; the "
        "residue stays on the ledger. 0 opens a case for any amount past due.",
    )

    def expression_limits(self) -> ExpressionLimits:
        """The limits every policy expression is checked against.

        >>> Settings(policy_max_expression_depth=12).expression_limits().max_depth
        12
        """
        from fengkong.expression import ExpressionLimits  # noqa: PLC0415 (settings stay light)

        return ExpressionLimits(
            max_chars=self.policy_max_expression_chars,
            max_depth=self.policy_max_expression_depth,
            max_nodes=self.policy_max_expression_nodes,
        )

    def resolved_database_url(self) -> str:
        """The database URL in force: the explicit one, or SQLite under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'fengkong.db').as_posix()}"
