"""Request and response bodies (one schema per use)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
)

from fengkong.api.types import RequestBody, RowId

__all__ = [
    "ContactIn",
    "ContactOut",
    "DecisionIn",
    "DecisionOut",
    "OutcomeIn",
    "PromoteIn",
    "ValidateIn",
]


#: Bounds on an application's values: what can be decided, stored and observed.
MAX_TEXT = 4096
MAX_ITEMS = 1000
_INT64 = 2**63 - 1


def _scalar(value: Any, path: str) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if not -_INT64 - 1 <= value <= _INT64:
            raise ValueError(f"{path}: expected an integer within 64 bits, got {str(value)[:30]}…")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path}: expected a finite number, got {value}")
    elif isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise ValueError(f"{path}: expected text of at most {MAX_TEXT} characters")
    else:
        raise ValueError(f"{path}: expected a number, text, true/false, null or a list of them")


def _bounded(application: dict[str, Any]) -> None:
    """Refuse an application that could not be decided, stored or compared: more than
    ``MAX_ITEMS`` inputs or list items, names over 128 characters, integers beyond int64,
    non-finite numbers, text over ``MAX_TEXT`` characters, nested objects; the error names
    the input."""
    if len(application) > MAX_ITEMS:
        raise ValueError(f"application: expected at most {MAX_ITEMS} inputs")
    for name, value in application.items():
        path = f"application.{name}"
        if len(name) > 128:
            raise ValueError("application: expected input names of at most 128 characters")
        if isinstance(value, list):
            if len(value) > MAX_ITEMS:
                raise ValueError(f"{path}: expected at most {MAX_ITEMS} items")
            for k, item in enumerate(value):
                _scalar(item, f"{path}[{k}]")
        else:
            _scalar(value, path)


_SCALAR_SCHEMA: list[dict[str, Any]] = [
    {"type": "integer", "minimum": -_INT64 - 1, "maximum": _INT64},
    {"type": "number"},
    {"type": "string", "maxLength": MAX_TEXT},
    {"type": "boolean"},
    {"type": "null"},
]
APPLICATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "maxProperties": MAX_ITEMS,
    "propertyNames": {"maxLength": 128},
    "additionalProperties": {
        "anyOf": [
            *_SCALAR_SCHEMA,
            {"type": "array", "maxItems": MAX_ITEMS, "items": {"anyOf": _SCALAR_SCHEMA}},
        ]
    },
    "description": "Input name -> value, as the policy declares them: integers within 64 bits, "
    f"finite numbers, text of at most {MAX_TEXT} characters, true/false, null or a list of "
    f"them; at most {MAX_ITEMS} inputs.",
}


def _iso_text_or_null(value: Any) -> Any:
    """A time as ISO 8601 text (or null): a number is not a time here."""
    if value is not None and not isinstance(value, str):
        raise ValueError("expected an ISO 8601 date-time as text, or null")
    return value


class DecisionIn(RequestBody):
    """An application to decide."""

    model_config = ConfigDict(extra="forbid")
    application: Annotated[dict[str, Any], WithJsonSchema(APPLICATION_SCHEMA)]
    application_id: str | None = Field(default=None, max_length=64)
    policy: str | None = Field(
        default=None, max_length=64, description="Default: the service's policy."
    )
    identifiers: (
        list[
            tuple[
                Annotated[str, Field(max_length=32)],
                Annotated[str, Field(max_length=256)],
                Annotated[dt.datetime | None, BeforeValidator(_iso_text_or_null)],
            ]
        ]
        | None
    ) = Field(
        default=None,
        description="(type, value, first seen) of the applicant's identifiers, for graph "
        "features; first seen null: seen with this application (never after it).",
        max_length=100,
    )

    @field_validator("application")
    @classmethod
    def _application_bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        _bounded(value)
        return value


class DecisionOut(BaseModel):
    """The decision, its reasons and offer, and where it is stored."""

    decision_id: str
    decision: Literal["approve", "decline", "refer"]
    reasons: list[str]
    outputs: dict[str, Any]
    policy: str
    version: str
    arm: str | None


class PromoteIn(RequestBody):
    """Move a policy version along the workflow."""

    model_config = ConfigDict(extra="forbid")
    to: Literal["approved", "active", "retired"]
    note: str = Field(default="", max_length=500)


class ValidateIn(RequestBody):
    """A policy file's text to check."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=2_000_000)


class ContactIn(RequestBody):
    """A contact the caller wants to make: the case, the channel, the template and (for anyone
    but the debtor) the stored contact. Everything else — the time, the debtor, number, zone,
    jurisdiction, stop states, loan state and earlier contacts — the server knows."""

    model_config = ConfigDict(extra="forbid")
    case_id: str = Field(min_length=1, max_length=64)
    channel: Literal["call", "robocall", "sms", "email", "letter", "field_visit"]
    template_id: str = Field(min_length=1, max_length=64, pattern=r"^[\w.\-]+$")
    contact_id: RowId | None = Field(default=None, description="A stored third party or attorney.")
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=r"^[\w.:\-]+$",
        description="Makes a retry safe: the same request with the same key (same caller and "
        "case, within a day) answers the attempt first logged and logs nothing; the key on "
        "another request is a 422. Without a key every request is a new attempt.",
    )


class ContactOut(BaseModel):
    """The guardrail's verdict and the log entry."""

    log_id: int
    allowed: bool
    breaches: list[dict[str, str]]


class OutcomeIn(RequestBody):
    """What came of an allowed attempt."""

    model_config = ConfigDict(extra="forbid")
    outcome: Literal["connected", "unanswered", "wrong_party", "delivered", "visited", "failed"]
    recording_id: str | None = Field(
        default=None,
        max_length=128,
        pattern=r"^[\w.:/\-]+$",
        description="The recording's id: required where the profile records the channel.",
    )
