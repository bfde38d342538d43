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
    """A contact attempt to check (and log) before it is made."""

    model_config = ConfigDict(extra="forbid")
    case_id: str = Field(max_length=64)
    debtor_id: str = Field(max_length=64)
    channel: Literal["call", "robocall", "sms", "email", "letter", "field_visit"]
    at: dt.datetime = Field(description="When, with a time zone.")
    jurisdiction: Literal["cn", "us"] = "cn"
    debtor_tz: str | None = Field(default=None, max_length=64)
    number: str | None = Field(default=None, max_length=32)
    party: Literal["debtor", "third_party"] = "debtor"
    purpose: Literal["collect", "locate"] = "collect"
    template: str = Field(default="", max_length=2000)
    recording: list[Literal["audio", "video"]] = Field(default_factory=list)
    case_status: str = Field(default="open", max_length=32)
    holds: list[str] = Field(default_factory=list)
    debtor_unreachable: bool = False


class ContactOut(BaseModel):
    """The guardrail's verdict and the log entry."""

    log_id: int
    allowed: bool
    breaches: list[dict[str, str]]


class OutcomeIn(BaseModel):
    """What came of an allowed attempt."""

    model_config = ConfigDict(extra="forbid")
    outcome: Literal["connected", "unanswered", "wrong_party", "delivered", "visited", "failed"]
