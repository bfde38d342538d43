"""Persistence: SQLAlchemy 2.0 models, engines and Alembic migrations (SQLite default, PostgreSQL)."""

from fengkong.db.engine import make_engine, migrate, session_factory
from fengkong.db.models import (
    Base,
    BucketHistoryRecord,
    EodRunRecord,
    InstalmentRecord,
    LoanEventRecord,
    LoanRecord,
)

__all__ = [
    "Base",
    "BucketHistoryRecord",
    "EodRunRecord",
    "InstalmentRecord",
    "LoanEventRecord",
    "LoanRecord",
    "make_engine",
    "migrate",
    "session_factory",
]
