"""Use cases for policies: submit, approve, activate, retire, roll back, load; store decisions.

A submitted version stores its YAML and the artifacts it pins (scorecard JSON, LightGBM text
and sidecar), so any version can be loaded again exactly as approved, years later. Only a
file that passes every check is stored; the workflow rules are
:func:`fengkong.policy.versions.check_transition`; every step goes to ``policy_events``.
Authors, approvers and actors are stored as
:func:`~fengkong.policy.versions.normalise_identity` makes them; the caller passes the
authenticated identity (the API's principal, the CLI's operator or key), never free text.
The clock is passed in (``at``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from fengkong._yaml_strict import strict_yaml
from fengkong.db.models import DecisionRecord, PolicyEventRecord, PolicyVersionRecord
from fengkong.errors import NotFoundError, WorkflowError
from fengkong.expression import ExpressionLimits
from fengkong.policy import Decision, Policy, load_policy
from fengkong.policy.versions import check_transition, normalise_identity

__all__ = [
    "POLICY_EDITORS",
    "VersionInfo",
    "decision_row",
    "get_decision",
    "list_versions",
    "load_version",
    "new_decision_id",
    "promote",
    "record_decision",
    "submit_policy",
]


POLICY_EDITORS = ("admin", "risk_analyst")
"""The roles whose keys may submit and promote policy versions (API and CLI alike)."""


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """A stored version as the CLI and the API show it."""

    name: str
    version: str
    sha256: str
    status: str
    author: str
    approved_by: str | None
    created_at: dt.datetime


def _info(r: PolicyVersionRecord) -> VersionInfo:
    return VersionInfo(r.name, r.version, r.sha256, r.status, r.author, r.approved_by, r.created_at)


def _artifact_files(path: Path, data: dict[str, Any]) -> dict[str, str]:
    files: dict[str, str] = {}
    for section in ("scorecards", "models"):
        for raw in (data.get(section) or {}).values():
            rel = Path(str(raw["artifact"]))
            paths = (
                [rel]
                if section == "scorecards"
                else [rel.with_suffix(".txt"), rel.with_suffix(".json")]
            )
            for p in paths:
                files[p.as_posix()] = (path.parent / p).read_text(encoding="utf-8")
    return files


def submit_policy(
    session: Session,
    path: str | Path,
    *,
    author: str,
    at: dt.datetime,
    limits: ExpressionLimits | None = None,
) -> VersionInfo:
    """Store a checked policy file as a draft (idempotent for identical content).

    A different content under an existing name and version is refused: versions are
    immutable, so bump ``version`` in the file. ``author`` is stored normalised.
    """
    author = normalise_identity(author, field="author")
    policy = load_policy(
        path, limits=limits
    )  # ConfigError lists every problem: a bad file is never stored
    text = Path(path).read_text(encoding="utf-8")
    artifacts = _artifact_files(Path(path), strict_yaml(text))
    sha = hashlib.sha256(
        (
            policy.sha256
            + "".join(
                f"{k}:{hashlib.sha256(v.encode()).hexdigest()}"
                for k, v in sorted(artifacts.items())
            )
        ).encode()
    ).hexdigest()
    existing = session.scalar(
        select(PolicyVersionRecord).where(
            PolicyVersionRecord.name == policy.name, PolicyVersionRecord.version == policy.version
        )
    )
    if existing is not None:
        if existing.sha256 != sha:
            raise WorkflowError(
                f"submit {policy.name}@{policy.version}",
                current=existing.status,
                reason="that version exists with other content; versions are immutable, "
                "bump `version` in the file",
            )
        return _info(existing)
    record = PolicyVersionRecord(
        name=policy.name,
        version=policy.version,
        sha256=sha,
        source=text,
        artifacts=artifacts,
        status="draft",
        author=author,
        approved_by=None,
        created_at=at,
    )
    session.add(record)
    session.flush()
    session.add(
        PolicyEventRecord(version_id=record.id, action="submitted", actor=author, at=at, note="")
    )
    return _info(record)


def _record(session: Session, name: str, version: str) -> PolicyVersionRecord:
    record = session.scalar(
        select(PolicyVersionRecord).where(
            PolicyVersionRecord.name == name, PolicyVersionRecord.version == version
        )
    )
    if record is None:
        raise NotFoundError("policy version", f"{name}@{version}")
    return record


def _locked_record(session: Session, name: str, version: str) -> PolicyVersionRecord:
    """The version, its write lock taken first (a no-op update, the transaction's first
    statement: SQLite never has to upgrade a read to a write, which fails at once under a
    concurrent writer; PostgreSQL holds the row until the commit, so a second identical
    promotion reads the first one's result)."""
    session.execute(
        update(PolicyVersionRecord)
        .where(PolicyVersionRecord.name == name, PolicyVersionRecord.version == version)
        .values(status=PolicyVersionRecord.status)
        .execution_options(synchronize_session=False)
    )
    return _record(session, name, version)


_STEPS = {
    "approved": ("approved",),
    "active": ("activated", "rolled_back"),
    "retired": ("retired",),
}


def _repeats_latest_step(
    session: Session, record: PolicyVersionRecord, *, to: str, actor: str
) -> bool:
    """True when the version is already ``to`` and its latest step was this move by ``actor``."""
    if record.status != to:
        return False
    latest = session.scalar(
        select(PolicyEventRecord)
        .where(PolicyEventRecord.version_id == record.id)
        .order_by(PolicyEventRecord.id.desc())
        .limit(1)
    )
    return latest is not None and latest.actor == actor and latest.action in _STEPS.get(to, ())


def promote(
    session: Session,
    name: str,
    version: str,
    *,
    to: str,
    actor: str,
    at: dt.datetime,
    note: str = "",
) -> VersionInfo:
    """Move a version to ``approved``, ``active`` or ``retired``.

    Activating retires the version active before it; activating a retired version is a
    rollback (logged as such). ``actor`` is stored normalised.

    Idempotent: the version's write lock is taken first (promotions of one version run one at
    a time on SQLite and PostgreSQL), and the same move by the same actor again, while it is
    the version's latest step, changes nothing and answers the version as it is. Any other
    move from the wrong state is a :class:`~fengkong.errors.WorkflowError`.
    """
    actor = normalise_identity(actor, field="actor")
    record = _locked_record(session, name, version)
    if _repeats_latest_step(session, record, to=to, actor=actor):
        return _info(record)
    check_transition(record.status, to, author=record.author, actor=actor)
    action = {"approved": "approved", "active": "activated", "retired": "retired"}[to]
    if to == "active":
        if record.status == "retired":
            action = "rolled_back"
        for other in session.scalars(
            select(PolicyVersionRecord).where(
                PolicyVersionRecord.name == name, PolicyVersionRecord.status == "active"
            )
        ):
            other.status = "retired"
            session.add(
                PolicyEventRecord(
                    version_id=other.id,
                    action="retired",
                    actor=actor,
                    at=at,
                    note=f"replaced by {version}",
                )
            )
    if to == "approved":
        record.approved_by = actor
    record.status = to
    session.add(
        PolicyEventRecord(version_id=record.id, action=action, actor=actor, at=at, note=note)
    )
    session.flush()
    return _info(record)


def list_versions(session: Session, name: str | None = None) -> list[VersionInfo]:
    """Stored versions (of one policy, or all), oldest first."""
    query = select(PolicyVersionRecord).order_by(PolicyVersionRecord.id)
    if name is not None:
        query = query.where(PolicyVersionRecord.name == name)
    return [_info(r) for r in session.scalars(query)]


def history(session: Session, name: str, version: str) -> list[tuple[str, str, dt.datetime, str]]:
    """The workflow log of one version: (action, actor, at, note)."""
    record = _record(session, name, version)
    rows = session.scalars(
        select(PolicyEventRecord)
        .where(PolicyEventRecord.version_id == record.id)
        .order_by(PolicyEventRecord.id)
    )
    return [(r.action, r.actor, r.at, r.note) for r in rows]


def load_version(
    session: Session,
    name: str,
    version: str | None = None,
    *,
    limits: ExpressionLimits | None = None,
) -> Policy:
    """A stored version as a runnable policy (the active one when ``version`` is None),
    checked again under ``limits`` (a stored file never skips the checker)."""
    if version is None:
        record = session.scalar(
            select(PolicyVersionRecord).where(
                PolicyVersionRecord.name == name, PolicyVersionRecord.status == "active"
            )
        )
        if record is None:
            raise NotFoundError("active policy", name)
    else:
        record = _record(session, name, version)
    with tempfile.TemporaryDirectory(prefix="fk-policy-") as tmp:
        folder = Path(tmp)
        for rel, content in record.artifacts.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(content, encoding="utf-8")
        path = folder / f"{record.name}.yaml"
        path.write_text(record.source, encoding="utf-8")
        return load_policy(path, limits=limits)


def source_of(session: Session, name: str, version: str) -> str:
    """The YAML text of a stored version."""
    return _record(session, name, version).source


def new_decision_id(at: dt.datetime) -> str:
    """A decision id that sorts by time: 12 hex digits of milliseconds since 1970 (UTC; a
    naive time is taken as UTC), then 80 random bits — the layout of a UUIDv7 — so that the
    primary-key index takes each new record at its end instead of at a random page.

    >>> a = new_decision_id(dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    >>> b = new_decision_id(dt.datetime(2026, 3, 1, 0, 0, 1, tzinfo=dt.UTC))
    >>> len(a), a < b, a[:12]
    (32, True, '019ca6b1dc00')
    """
    aware = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    millis = (aware - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(milliseconds=1)
    return f"{millis:012x}{secrets.token_hex(10)}"


def decision_row(
    decision: Decision,
    *,
    at: dt.datetime,
    decision_id: str | None = None,
    application_id: str | None = None,
    graph: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``decisions`` row of a decision with its audit record (for bulk inserts);
    ``graph``: the applicant's relationship graph as the decision saw it, kept with the
    record for its trace page."""
    if decision.audit is None:
        raise WorkflowError(
            "record a decision", current="no audit record", reason="decide with audit=True"
        )
    return {
        "id": decision_id or new_decision_id(at),
        "application_id": application_id,
        "policy": decision.policy,
        "version": decision.version,
        "sha256": decision.audit.sha256,
        "arm": decision.arm,
        "decision": decision.decision,
        "reasons": list(decision.reasons),
        # as they are: the engine's JSON serializer writes dates and Decimals as text
        "record": decision.audit.fields()
        | {"outputs": decision.outputs}
        | ({"graph": graph} if graph is not None else {}),
        "decided_at": at,
    }


def record_decision(
    session: Session,
    decision: Decision,
    *,
    at: dt.datetime,
    decision_id: str | None = None,
    application_id: str | None = None,
) -> str:
    """Store a decision with its audit record; returns its id."""
    row = decision_row(decision, at=at, decision_id=decision_id, application_id=application_id)
    session.execute(insert(DecisionRecord), [row])
    return str(row["id"])


def get_decision(session: Session, decision_id: str) -> dict[str, Any]:
    """A stored decision with its full audit record."""
    row = session.get(DecisionRecord, decision_id)
    if row is None:
        raise NotFoundError("decision", decision_id)
    return {
        "id": row.id,
        "application_id": row.application_id,
        "decision": row.decision,
        "reasons": row.reasons,
        "arm": row.arm,
        "decided_at": row.decided_at,
        **row.record,
    }
