"""Persistence: SQLAlchemy 2.0 models, engines and Alembic migrations (SQLite default, PostgreSQL)."""

from fengkong.db.engine import make_engine, migrate, session_factory
from fengkong.db.models import (
    ApiKeyRecord,
    AuditLogRecord,
    Base,
    BucketHistoryRecord,
    CollectionCaseRecord,
    ContactLogRecord,
    ContactOutcomeRecord,
    DecisionRecord,
    EodRunRecord,
    InstalmentRecord,
    LoanEventRecord,
    LoanRecord,
    PolicyEventRecord,
    PolicyVersionRecord,
    PromiseRecord,
)

__all__ = [
    "ApiKeyRecord",
    "AuditLogRecord",
    "Base",
    "BucketHistoryRecord",
    "CollectionCaseRecord",
    "ContactLogRecord",
    "ContactOutcomeRecord",
    "DecisionRecord",
    "EodRunRecord",
    "InstalmentRecord",
    "LoanEventRecord",
    "LoanRecord",
    "PolicyEventRecord",
    "PolicyVersionRecord",
    "PromiseRecord",
    "make_engine",
    "migrate",
    "session_factory",
]
