"""The safe expression language: both backends agree, nothing unsafe parses."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fengkong.features import parse_expression

EXPRESSIONS = [
    "a / b",
    "a * 2 - max(b, 1)",
    "min(a, b, 3) + abs(-a)",
    "coalesce(a, b, 0) / (b - 1)",
    "-(a + b) * 0.5",
]
values = st.one_of(st.none(), st.integers(-5, 5))


@given(a=values, b=values, text=st.sampled_from(EXPRESSIONS))
def test_row_and_polars_backends_agree(a: int | None, b: int | None, text: str) -> None:
    expr = parse_expression(text)
    frame = pl.DataFrame({"a": [a], "b": [b]}, schema={"a": pl.Int64, "b": pl.Int64})
    assert frame.select(expr.to_polars()).item() == expr.evaluate({"a": a, "b": b})


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "a.b",
        "a if b else 1",
        "a < b",
        "a ** 2",
        "open(a)",
        "'x'",
        "[a]",
        "a +",
        "abs(a, b)",
    ],
)
def test_unsafe_or_unknown_forms_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expression"):
        parse_expression(text)
