"""Tables: the servicing book (money in integer minor units plus an ISO currency), policy
versions with their workflow log, decisions with their audit records, and collections (the
contact log, cases with their assignment, promises)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """The one declarative base, with a naming convention for constraints."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        int: BigInteger().with_variant(Integer(), "sqlite"),
        dict[str, Any]: JSON,
    }


class LoanRecord(Base):
    """A booked loan: its contract and its servicing state after the last end of day."""

    __tablename__ = "loans"
    __table_args__ = (CheckConstraint("suspense_minor >= 0", name="suspense_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    #: The approval it was booked from (one approval books one loan); None for imported loans.
    decision_id: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    borrower_id: Mapped[str] = mapped_column(String(64), index=True)
    product: Mapped[dict[str, Any]] = mapped_column(JSON)
    currency: Mapped[str] = mapped_column(String(3))
    principal_minor: Mapped[int]
    upfront_fee_minor: Mapped[int | None]
    rate_ppm: Mapped[int]
    term: Mapped[int] = mapped_column(Integer)
    disbursed_on: Mapped[dt.date] = mapped_column(Date)
    first_due_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")
    dpd: Mapped[int] = mapped_column(Integer, default=0)
    bucket: Mapped[str] = mapped_column(String(8), default="M0")
    npa: Mapped[bool] = mapped_column(Boolean, default=False)
    npa_contagion: Mapped[bool] = mapped_column(Boolean, default=False)
    accrued_interest_minor: Mapped[int] = mapped_column(default=0)
    last_eod: Mapped[dt.date] = mapped_column(Date)
    #: Money received above the payoff and not yet refunded (written by end of day from the fold).
    suspense_minor: Mapped[int] = mapped_column(default=0, server_default="0")


class InstalmentRecord(Base):
    """One instalment of a loan: amounts due and paid per component, in minor units."""

    __tablename__ = "instalments"

    loan_id: Mapped[int] = mapped_column(
        ForeignKey("loans.id", ondelete="CASCADE"), primary_key=True
    )
    instalment: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_on: Mapped[dt.date] = mapped_column(Date)
    due_penalty: Mapped[int] = mapped_column(default=0)
    due_fee: Mapped[int]
    due_interest: Mapped[int]
    due_principal: Mapped[int]
    paid_penalty: Mapped[int] = mapped_column(default=0)
    paid_fee: Mapped[int] = mapped_column(default=0)
    paid_interest: Mapped[int] = mapped_column(default=0)
    paid_principal: Mapped[int] = mapped_column(default=0)
    late_fee_charged: Mapped[bool] = mapped_column(Boolean, default=False)


class LoanEventRecord(Base):
    """The append-only event log of a loan; ``key`` makes every posting idempotent."""

    __tablename__ = "loan_events"
    __table_args__ = (
        UniqueConstraint("loan_id", "key"),
        CheckConstraint("amount_minor IS NULL OR amount_minor > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    on: Mapped[dt.date] = mapped_column(Date)
    amount_minor: Mapped[int | None]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    posted_eod: Mapped[bool] = mapped_column(Boolean, default=False)


class BucketHistoryRecord(Base):
    """When a loan entered and left each delinquency bucket: entered ≤ left, one row per loan
    and entry day, at most one open row (``left_on`` null) per loan."""

    __tablename__ = "bucket_history"
    __table_args__ = (
        CheckConstraint("left_on IS NULL OR left_on >= entered_on", name="entered_before_left"),
        Index("uq_bucket_history_loan_entered", "loan_id", "entered_on", unique=True),
        Index(
            "uq_bucket_history_one_open",
            "loan_id",
            unique=True,
            sqlite_where=text("left_on IS NULL"),
            postgresql_where=text("left_on IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"), index=True)
    bucket: Mapped[str] = mapped_column(String(8))
    entered_on: Mapped[dt.date] = mapped_column(Date)
    left_on: Mapped[dt.date | None] = mapped_column(Date)


class EodRunRecord(Base):
    """One completed end of day; its presence makes re-running the date a no-op."""

    __tablename__ = "eod_runs"

    business_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    loans: Mapped[int]
    payments: Mapped[int]


class PolicyVersionRecord(Base):
    """An immutable policy version: its YAML, its artifacts, its hash and workflow status."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    artifacts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    author: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class PolicyEventRecord(Base):
    """The append-only workflow log of policy versions: who did what, when."""

    __tablename__ = "policy_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("policy_versions.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")


class DecisionRecord(Base):
    """One decision with its full audit record (inputs, variables, hits, points, timings)."""

    __tablename__ = "decisions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    application_id: Mapped[str | None] = mapped_column(String(64), index=True)
    policy: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    arm: Mapped[str | None] = mapped_column(String(32))
    decision: Mapped[str] = mapped_column(String(16), index=True)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class ContactLogRecord(Base):
    """Every contact attempt, allowed or blocked, with the rules it broke (append-only)."""

    __tablename__ = "contact_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    debtor_id: Mapped[str] = mapped_column(String(64), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(16))
    party: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    number: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    debtor_tz: Mapped[str | None] = mapped_column(String(64))
    template: Mapped[str] = mapped_column(Text, default="")
    recording: Mapped[list[str]] = mapped_column(JSON, default=list)
    debts: Mapped[list[str] | None] = mapped_column(JSON)  # the loans the contact is about
    allowed: Mapped[bool] = mapped_column(Boolean)
    breaches: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)


class ContactOutcomeRecord(Base):
    """What came of an allowed attempt (one per attempt; append-only)."""

    __tablename__ = "contact_outcomes"

    log_id: Mapped[int] = mapped_column(
        ForeignKey("contact_log.id", ondelete="RESTRICT"), primary_key=True
    )
    outcome: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    recording_id: Mapped[str | None] = mapped_column(String(128))  # the evidence, when required


class ApiKeyRecord(Base):
    """An API key: only its SHA-256 is stored; the role decides what it may do."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(64))  # the collector's own id
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditLogRecord(Base):
    """Every write through the service: who, what, on which object, when (append-only)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CollectionCaseRecord(Base):
    """A borrower's collection case as of the last collections run, and who works it."""

    __tablename__ = "collection_cases"

    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    borrower_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))  # open | recovery | cured | settled
    stage: Mapped[str | None] = mapped_column(String(16))
    max_dpd: Mapped[int] = mapped_column(Integer)
    overdue_fen: Mapped[int]
    balance_fen: Mapped[int]
    loans: Mapped[list[str]] = mapped_column(JSON)  # the loans' external ids
    placement: Mapped[str | None] = mapped_column(String(16))
    p_pay: Mapped[float | None] = mapped_column(Float)
    assigned_to: Mapped[str | None] = mapped_column(String(64), index=True)
    assigned_by: Mapped[str | None] = mapped_column(String(64))  # a person, not the allocation
    assignment_held_until: Mapped[dt.date | None] = mapped_column(Date)  # the runs keep it
    plan: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    phone: Mapped[str | None] = mapped_column(String(32))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    jurisdiction: Mapped[str] = mapped_column(String(8), default="cn", server_default="cn")
    opened_on: Mapped[dt.date] = mapped_column(Date)
    updated_on: Mapped[dt.date] = mapped_column(Date)


class PromiseRecord(Base):
    """A promise to pay made on a case; judged kept or broken by the collections run."""

    __tablename__ = "promises"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(
        ForeignKey("collection_cases.case_id", ondelete="RESTRICT"), index=True
    )
    amount_fen: Mapped[int]
    due_on: Mapped[dt.date] = mapped_column(Date)
    made_on: Mapped[dt.date] = mapped_column(Date)
    made_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    resolved_on: Mapped[dt.date | None] = mapped_column(Date)


class DebtorRequestRecord(Base):
    """A stop state in force for a debtor: a borrower's request (dispute, cease contact,
    hardship) or a fact the lender learned (legal hold, deceased, bankruptcy, represented by an
    attorney); who set it and when, and who lifted it and when (rows are never deleted)."""

    __tablename__ = "debtor_requests"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('dispute', 'cease_contact', 'hardship', 'legal_hold', 'deceased', "
            "'bankruptcy', 'represented')",
            name="kind",
        ),
        CheckConstraint("lifted_at IS NULL OR lifted_at >= effective_from", name="lifted_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    borrower_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    loan_id: Mapped[str | None] = mapped_column(String(64))  # a dispute of one loan (external id)
    channels: Mapped[list[str] | None] = mapped_column(JSON)  # cease contact: None = every channel
    disputed_fen: Mapped[int | None] = mapped_column(BigInteger)
    verification: Mapped[str | None] = mapped_column(String(16))  # a dispute: pending | verified
    attorney_contact_id: Mapped[int | None] = mapped_column(ForeignKey("debtor_contacts.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    effective_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    lifted_by: Mapped[str | None] = mapped_column(String(64))
    lifted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    lift_reason: Mapped[str | None] = mapped_column(Text)


class DebtorContactRecord(Base):
    """A person the lender may call about a debtor: a third party from the application (only to
    locate an unreachable debtor) or the debtor's attorney; numbers in E.164."""

    __tablename__ = "debtor_contacts"
    __table_args__ = (CheckConstraint("role IN ('third_party', 'attorney')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    borrower_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(128))
    relation: Mapped[str] = mapped_column(String(32), default="")
    number: Mapped[str] = mapped_column(String(32))
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AgencyPlacementRecord(Base):
    """A case placed with a collection agency (委外) and, later, recalled: kept across days so
    recall dates and each agency's capacity hold from one daily run to the next."""

    __tablename__ = "agency_placements"
    __table_args__ = (UniqueConstraint("case_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    agency_id: Mapped[str] = mapped_column(String(64), index=True)
    placed_on: Mapped[dt.date] = mapped_column(Date)
    placed_dpd: Mapped[int] = mapped_column(Integer)
    placed_overdue_fen: Mapped[int] = mapped_column(BigInteger)
    commission_rate: Mapped[str] = mapped_column(String(16))  # a decimal as text: exact
    recalled_on: Mapped[dt.date | None] = mapped_column(Date)
    number: Mapped[int] = mapped_column(Integer)


class SettlementOfferRecord(Base):
    """A settlement-in-full offer on a case: the discounted amount, its expiry, who approved it
    within the limit table; accepted by payment (the rest is waived and the case closes)."""

    __tablename__ = "settlement_offers"
    __table_args__ = (
        CheckConstraint("amount_fen > 0 AND amount_fen <= balance_fen", name="amount"),
        CheckConstraint("status IN ('open', 'accepted', 'withdrawn')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    balance_fen: Mapped[int] = mapped_column(BigInteger)  # the payoff when offered
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    expires_on: Mapped[dt.date] = mapped_column(Date)
    approved_by: Mapped[str] = mapped_column(String(64))
    approver_role: Mapped[str] = mapped_column(String(16))
    made_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="open")
    accepted_on: Mapped[dt.date | None] = mapped_column(Date)


class UiSessionRecord(Base):
    """A web UI login: only the SHA-256 of its random id is stored, bound to the key that logged
    in (a revoked key ends its sessions) until ``expires_at``; logging out deletes it."""

    __tablename__ = "ui_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
