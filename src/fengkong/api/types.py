"""Bounded field types shared by the request bodies: every integer within its column, every
rate a decimal within its range — and an OpenAPI schema that says exactly what is accepted
(a fuzzer generating from the schema never sends a valid-looking value that is refused)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

__all__ = ["MAX_ROW_ID", "Rate", "RequestBody", "RowId", "Share", "text_problem"]

#: Row ids are 32-bit integer columns on PostgreSQL.
MAX_ROW_ID = 2**31 - 1

RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]

Rate = Annotated[
    Decimal,
    Field(ge=0, le=10, allow_inf_nan=False),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 10},
                {"type": "string", "pattern": r"^(10(\.0{1,20})?|\d(\.\d{1,20})?)$"},
            ],
            "description": "An annual rate as a decimal, 0 to 10 (0.24 is 24 %).",
        }
    ),
]

Share = Annotated[
    Decimal,
    Field(ge=0, le=1, allow_inf_nan=False),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 1},
                {"type": "string", "pattern": r"^(1(\.0{1,20})?|0(\.\d{1,20})?)$"},
            ],
            "description": "A share from 0 to 1.",
        }
    ),
]


def text_problem(value: str) -> str | None:
    """Why a text cannot be stored (a NUL character, which PostgreSQL text refuses; a lone
    surrogate, which is not UTF-8), or None."""
    if "\x00" in value:
        return "expected text without NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "expected text in UTF-8 (a lone surrogate is not)"
    return None


def _walk(value: Any, path: str) -> None:
    if isinstance(value, str):
        why = text_problem(value)
        if why:
            raise ValueError(f"{path}: {why}")
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk(key, path)
            _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for k, item in enumerate(value):
            _walk(item, f"{path}.{k}" if path else str(k))


class RequestBody(BaseModel):
    """The base of every request body: unknown fields refused, and no text anywhere in it
    that the database could not store (NUL, lone surrogates) — a 422 naming the field."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        _walk(data, "")
        return data
