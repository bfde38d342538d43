"""Bounded field types shared by the request bodies: every integer within its column, every
rate a decimal within its range — and an OpenAPI schema that says exactly what is accepted
(a fuzzer generating from the schema never sends a valid-looking value that is refused)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, WithJsonSchema

__all__ = ["MAX_ROW_ID", "Rate", "RowId", "Share"]

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
