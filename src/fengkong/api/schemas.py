"""Request and response bodies (one schema per use)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ContactIn",
    "ContactOut",
    "DecisionIn",
    "DecisionOut",
    "OutcomeIn",
    "PromoteIn",
    "ValidateIn",
]


class DecisionIn(BaseModel):
    """An application to decide."""

    model_config = ConfigDict(extra="forbid")
    application: dict[str, Any] = Field(
        description="Input name -> value, as the policy declares them."
    )
    application_id: str | None = Field(default=None, max_length=64)
    policy: str | None = Field(
        default=None, max_length=64, description="Default: the service's policy."
    )
    identifiers: list[tuple[str, str, dt.datetime | None]] | None = Field(
        default=None,
        description="(type, value, first seen) of the applicant's identifiers, for graph "
        "features; first seen null: seen with this application (never after it).",
        max_length=100,
    )


class DecisionOut(BaseModel):
    """The decision, its reasons and offer, and where it is stored."""

    decision_id: str
    decision: Literal["approve", "decline", "refer"]
    reasons: list[str]
    outputs: dict[str, Any]
    policy: str
    version: str
    arm: str | None


class PromoteIn(BaseModel):
    """Move a policy version along the workflow."""

    model_config = ConfigDict(extra="forbid")
    to: Literal["approved", "active", "retired"]
    note: str = Field(default="", max_length=500)


class ValidateIn(BaseModel):
    """A policy file's text to check."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=2_000_000)


class ContactIn(BaseModel):
    """A contact the caller wants to make: the case, the channel, the template and (for anyone
    but the debtor) the stored contact. Everything else — the time, the debtor, number, zone,
    jurisdiction, stop states, loan state and earlier contacts — the server knows."""

    model_config = ConfigDict(extra="forbid")
    case_id: str = Field(min_length=1, max_length=64)
    channel: Literal["call", "robocall", "sms", "email", "letter", "field_visit"]
    template_id: str = Field(min_length=1, max_length=64, pattern=r"^[\w.\-]+$")
    contact_id: int | None = Field(
        default=None, ge=1, le=2**63 - 1, description="A stored third party or attorney."
    )


class ContactOut(BaseModel):
    """The guardrail's verdict and the log entry."""

    log_id: int
    allowed: bool
    breaches: list[dict[str, str]]


class OutcomeIn(BaseModel):
    """What came of an allowed attempt."""

    model_config = ConfigDict(extra="forbid")
    outcome: Literal["connected", "unanswered", "wrong_party", "delivered", "visited", "failed"]
    recording_id: str | None = Field(
        default=None,
        max_length=128,
        pattern=r"^[\w.:/\-]+$",
        description="The recording's id: required where the profile records the channel.",
    )
