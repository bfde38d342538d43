"""API keys with roles, the write audit log, and masking of personal data by role.

A key is shown once, when created; only its SHA-256 is stored. Roles: ``admin`` (everything),
``risk_analyst`` (policies, decisions, simulations), ``collector`` (their own cases and
contacts), ``auditor`` (read everything, personal data unmasked), ``service`` (decisions).
Personal data — phone numbers, bank cards, id numbers, addresses, names of contacts, devices,
IP addresses — is masked for every role but ``admin`` and ``auditor``, by one policy kept as
data (``services/data/masking.yaml``: the roles, the fields by name, the values by pattern,
how each kind shows, and why) and applied by :func:`mask_personal` to API responses, UI pages
(the relationship graph's tooltips included) and, through :class:`PersonalDataFilter`, logs.

A key's name is its holder's identity (the actor recorded for every write, the author or
approver in maker-checker), stored as :func:`~fengkong.policy.versions.normalise_identity`
makes it, one key per identity.

>>> mask_personal({"mobile": "13800138000", "age": 30}, role="risk_analyst")
{'mobile': '138****8000', 'age': 30}
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import hashlib
import logging
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from fengkong.db.models import ApiKeyRecord, AuditLogRecord, CollectionCaseRecord
from fengkong.errors import InvalidArgumentError, NotFoundError
from fengkong.policy.versions import normalise_identity

__all__ = [
    "ROLES",
    "SYSTEM",
    "MaskingPolicy",
    "PersonalDataFilter",
    "Principal",
    "audit_write",
    "audit_writes",
    "authenticate",
    "create_api_key",
    "load_masking_policy",
    "mask_personal",
    "mask_text",
    "owner_of",
    "workable_case",
]

ROLES = ("admin", "risk_analyst", "collector", "auditor", "service")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's name, role and (for a collector) their own id."""

    name: str
    role: str
    subject: str | None = None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


#: Who writes when no person does: the operator at the server's console (``fengkong apikey
#: create``), a migration, a scheduled job. Audited as such.
SYSTEM = Principal("system", "admin", None)


def create_api_key(
    session: Session,
    *,
    name: str,
    role: str,
    at: dt.datetime,
    subject: str | None = None,
    by: Principal = SYSTEM,
) -> str:
    """Create a key and return it (the only time it is shown).

    ``name`` is stored normalised; a name that normalises to an existing key's name (``Alice``
    beside ``alice``) is refused: it would be the same identity. The creation is audited
    (``key.create`` by ``by``, at ``at``, with the key's name, role and subject — never the
    key or its hash).
    """
    given = name
    name = normalise_identity(name, field="name")
    if role not in ROLES:
        raise InvalidArgumentError("role", expected=f"one of {ROLES}", got=role)
    if role == "collector" and not subject:
        raise InvalidArgumentError(
            "subject", expected="the collector's id for a collector key", got=subject
        )
    if session.scalar(select(ApiKeyRecord.id).where(ApiKeyRecord.name == name)) is not None:
        raise InvalidArgumentError(
            "name",
            expected="a name no other key has (compared as a normalised identity)",
            got=given,
            note=f"a key for {name!r} exists",
        )
    key = f"fk_{secrets.token_urlsafe(24)}"
    session.add(
        ApiKeyRecord(name=name, role=role, subject=subject, key_hash=_digest(key), created_at=at)
    )
    audit_write(session, by, "key.create", name, at=at, role=role, subject=subject)
    session.flush()
    return key


def authenticate(session: Session, key: str | None) -> Principal | None:
    """The principal of a key, or None (unknown or revoked)."""
    if not key:
        return None
    row = session.scalar(
        select(ApiKeyRecord).where(
            ApiKeyRecord.key_hash == _digest(key), ApiKeyRecord.revoked.is_(False)
        )
    )
    return None if row is None else Principal(row.name, row.role, row.subject)


def audit_write(
    session: Session, who: Principal, action: str, target: str, *, at: dt.datetime, **detail: Any
) -> None:
    """Append a write to the audit log."""
    session.add(
        AuditLogRecord(
            actor=who.name, role=who.role, action=action, target=target, at=at, detail=detail
        )
    )


def audit_writes(
    session: Session,
    who: Principal,
    action: str,
    entries: Iterable[tuple[str, dt.datetime, Mapping[str, Any]]],
) -> int:
    """Append many writes of one kind by one principal to the audit log at once (a batch
    job's bookings or repayments): ``entries`` are ``(target, at, detail)``; returns how many.
    The rows are those :func:`audit_write` makes, inserted in one statement."""
    rows = [
        {"actor": who.name, "role": who.role, "action": action, "target": target, "at": at,
         "detail": dict(detail)}
        for target, at, detail in entries
    ]  # fmt: skip
    if rows:
        session.execute(insert(AuditLogRecord), rows)
    return len(rows)


# ------------------------------------------------------------------------------ masking
class _Kind(BaseModel):
    """How one kind of personal value is shown to a masked role."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    keep_first: int = Field(default=0, ge=0, le=8)
    keep_last: int = Field(default=0, ge=0, le=8)
    separator: str | None = Field(default=None, min_length=1, max_length=1)
    keep_parts: int = Field(default=0, ge=0, le=4)


class _FieldRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: str = Field(pattern=r"^[a-z_]{1,32}$")
    name: re.Pattern[str]


class _ValueRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: str = Field(pattern=r"^[a-z_]{1,32}$")
    pattern: re.Pattern[str]


class MaskingPolicy(BaseModel):
    """The masking policy (``services/data/masking.yaml``): who sees personal data in clear,
    which fields are personal by name, which text is personal by value, how each kind shows."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: Literal[1]
    roles: dict[str, Literal["clear", "masked"]]
    not_personal: re.Pattern[str]
    number_min_digits: int = Field(ge=1, le=32)
    kinds: dict[str, _Kind]
    fields: tuple[_FieldRule, ...]
    values: tuple[_ValueRule, ...]
    typed: re.Pattern[str]

    @field_validator("not_personal", "typed", mode="before")
    @classmethod
    def _compile(cls, value: Any) -> Any:
        return re.compile(value, re.IGNORECASE) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _known_kinds(self) -> MaskingPolicy:
        for kind in [f.kind for f in self.fields] + [v.kind for v in self.values]:
            if kind not in self.kinds:
                raise ValueError(f"kind {kind!r}: expected one of {sorted(self.kinds)}")
        missing = set(ROLES) - set(self.roles)
        if missing:
            raise ValueError(f"roles: expected every role {ROLES}, missing {sorted(missing)}")
        return self

    def sees_clear(self, role: str) -> bool:
        """Whether ``role`` sees personal data unmasked (an unknown role does not)."""
        return self.roles.get(role) == "clear"

    def kind_of(self, name: str) -> str | None:
        """The kind of personal data a field called ``name`` holds, or None."""
        if self.not_personal.search(name):
            return None
        for rule in self.fields:
            if rule.name.search(name):
                return rule.kind
        return None

    def mask(self, kind: str, value: str) -> str:
        """``value`` as a masked role sees it (deterministic; the same value, the same text)."""
        how = self.kinds[kind]
        if how.separator and how.separator in value:
            parts = value.split(how.separator)
            if len(parts) > how.keep_parts:
                kept = parts[: how.keep_parts] + ["*"] * (len(parts) - how.keep_parts)
                return how.separator.join(kept)
        first, last = how.keep_first, how.keep_last
        if len(value) <= first + last + 1:  # too short to keep anything and hide enough
            first, last = 0, 0
        if not first and not last:
            return "***"
        return value[:first] + "*" * (len(value) - first - last) + value[len(value) - last :]

    def _mask_match(self, kind: str, match: re.Match[str]) -> str:
        return self.mask(kind, match[0])

    def mask_text(self, text: str) -> str:
        """Personal values found inside ``text`` (typed identifiers, then value patterns) masked."""

        def typed(m: re.Match[str]) -> str:
            kind = self.kind_of(m["type"])
            return m[0] if kind is None else f"{m['type']}|{self.mask(kind, m['value'])}"

        text = self.typed.sub(typed, text)
        for rule in self.values:
            text = rule.pattern.sub(functools.partial(self._mask_match, rule.kind), text)
        return text


_MASKING_FILE = "data/masking.yaml"


@functools.cache
def load_masking_policy() -> MaskingPolicy:
    """The shipped masking policy (read once per process)."""
    import yaml  # noqa: PLC0415 (only when masking is first needed)

    text = resources.files("fengkong.services").joinpath(_MASKING_FILE).read_text("utf-8")
    raw = yaml.safe_load(text)
    raw["fields"] = [{**f, "name": re.compile(f["name"], re.IGNORECASE)} for f in raw["fields"]]
    raw["values"] = [{**v, "pattern": re.compile(v["pattern"])} for v in raw["values"]]
    return MaskingPolicy.model_validate(raw)


def _masked(  # noqa: PLR0911 (one return per JSON kind)
    data: Any, kind: str | None, policy: MaskingPolicy, *, counted: bool = False
) -> Any:
    """``counted``: the value sits under a name that counts, sums or flags (never personal)."""
    if isinstance(data, bool) or data is None:
        return data  # flags are never personal
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            name = str(k)
            key = policy.mask_text(k) if isinstance(k, str) else k
            numeric = bool(policy.not_personal.search(name))
            out[key] = _masked(v, policy.kind_of(name), policy, counted=numeric)
        return out
    if isinstance(data, list | tuple):
        return [_masked(v, kind, policy, counted=counted) for v in data]
    if isinstance(data, int | float):
        text = str(data)
        digits = sum(c.isdigit() for c in text)
        if kind and digits >= policy.number_min_digits:
            return policy.mask(kind, text)
        if counted or isinstance(data, float):
            return data
        masked = policy.mask_text(text)  # a phone or card sent as a JSON integer
        return data if masked == text else masked
    if isinstance(data, str):
        return policy.mask(kind, data) if kind and data else policy.mask_text(data)
    return data


def mask_personal(data: Any, *, role: str) -> Any:
    """``data`` (JSON-like: dicts, lists, text, numbers) as ``role`` may see it: for a masked
    role, personal fields by name and personal values inside any text are masked, by the
    policy in ``services/data/masking.yaml``; booleans, and numbers under names that count or
    flag, never are. A role that sees personal data gets ``data`` itself.

    >>> mask_personal({"ip": "157.79.212.49", "shared_mobile": 3, "note": "call 13800138000"},
    ...               role="collector")
    {'ip': '157.79.*.*', 'shared_mobile': 3, 'note': 'call 138****8000'}
    >>> mask_personal(["bank_card|6238123412341234"], role="service")
    ['bank_card|623812******1234']
    """
    policy = load_masking_policy()
    if policy.sees_clear(role):
        return data
    return _masked(data, None, policy)


def mask_text(text: str, *, role: str) -> str:
    """Personal values inside ``text`` masked for ``role`` (see :func:`mask_personal`)."""
    policy = load_masking_policy()
    return text if policy.sees_clear(role) else policy.mask_text(text)


class PersonalDataFilter(logging.Filter):
    """A logging filter that masks personal values in every record a handler emits: the
    message, its arguments (kept as arguments, so formatters that read them — uvicorn's
    access log — still work) and a traceback's text. The CLI's handler and the service's
    (:func:`masked_log_config`) carry it: logs are read by masked roles too.

    >>> record = logging.LogRecord("x", logging.INFO, "", 0, "sms to %s", ("13800138000",), None)
    >>> PersonalDataFilter().filter(record) and record.getMessage()
    'sms to 138****8000'
    """

    def filter(self, record: logging.LogRecord) -> bool:
        policy = load_masking_policy()
        if isinstance(record.msg, str):
            record.msg = policy.mask_text(record.msg)
        else:
            record.msg = policy.mask_text(str(record.msg))
        if isinstance(record.args, tuple):
            record.args = tuple(_masked_arg(a, policy) for a in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {k: _masked_arg(v, policy) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = policy.mask_text(record.exc_text)
        return True


def _masked_arg(value: Any, policy: MaskingPolicy) -> Any:
    """A log argument masked: numbers stay numbers (``%d``), anything else masked text."""
    if value is None or isinstance(value, int | float):
        return value
    return policy.mask_text(value if isinstance(value, str) else str(value))


def masked_log_config(level: str = "warning") -> dict[str, Any]:
    """uvicorn's logging configuration with :class:`PersonalDataFilter` on every handler
    (pass as ``log_config``): the service's own and the server's logs are masked.

    >>> config = masked_log_config()
    >>> all("personal" in h["filters"] for h in config["handlers"].values())
    True
    """
    from uvicorn.config import LOGGING_CONFIG  # noqa: PLC0415 (only when serving)

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"personal": {"()": PersonalDataFilter}}
    for handler in config["handlers"].values():
        handler["filters"] = [*handler.get("filters", []), "personal"]
    config["loggers"]["fengkong"] = {"handlers": ["default"], "level": level.upper(),
                                     "propagate": False}  # fmt: skip
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        config["loggers"].setdefault(name, {})["level"] = level.upper()
    return config


_SEES_ALL = ("admin", "auditor", "risk_analyst")


def owner_of(who: Principal) -> str | None:
    """The collector id whose cases ``who`` may see; None for roles that see every case."""
    return None if who.role in _SEES_ALL else (who.subject or who.name)


def workable_case(session: Session, case_id: str, who: Principal) -> CollectionCaseRecord:
    """The case, if ``who`` may see it (a collector: only their own); else not found."""
    record = session.get(CollectionCaseRecord, case_id)
    mine = owner_of(who)
    if record is None or (mine is not None and record.assigned_to != mine):
        raise NotFoundError("case", case_id)
    return record
