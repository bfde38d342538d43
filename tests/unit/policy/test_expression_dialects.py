"""The policy dialect of the expression language: row and Polars backends agree on everything.

Random expressions from the grammar (arithmetic, comparisons, ``in``, three-valued
``and``/``or``/``not``, ``if``/``else``, ``clip``, ``is_null``, ``coalesce``) over random rows
with nulls, evaluated by the compiled Python closure and by Polars, must be equal.
"""

import polars as pl
import pytest
from expression_grammar import ints, policy_expr, texts
from hypothesis import given, settings

from fengkong.expression import parse_expression


@settings(max_examples=400, deadline=None)
@given(text=policy_expr, a=ints, b=ints, s=texts)
def test_row_and_polars_backends_agree(text, a, b, s):
    expr = parse_expression(text, dialect="policy")
    frame = pl.DataFrame(
        {"a": [a], "b": [b], "s": [s]}, schema={"a": pl.Int64, "b": pl.Int64, "s": pl.String}
    )
    expected = expr.evaluate({"a": a, "b": b, "s": s})
    got = frame.select(expr.to_polars().alias("v")).item()
    assert got == expected, (text, a, b, s, got, expected)


@pytest.mark.parametrize(
    ("text", "row", "value"),
    [
        ("a > 1 and b > 1", {"a": None, "b": 0}, False),  # False decides an `and`
        ("a > 1 or b > 1", {"a": None, "b": 5}, True),  # True decides an `or`
        ("a > 1 or b > 1", {"a": None, "b": 0}, None),
        ("not (a > 1)", {"a": None}, None),
        ("1 if a > 1 else 2", {"a": None}, 2),  # a null condition takes the else branch
        ("s in ['x']", {"s": None}, None),
        ("is_null(s)", {"s": None}, True),
        ("clip(a, 0, 10)", {"a": 42}, 10),
        ("a / b", {"a": 1, "b": 0}, None),
    ],
)
def test_null_rules(text, row, value):
    assert parse_expression(text, dialect="policy").evaluate(row) == value


@pytest.mark.parametrize(
    "text",
    [
        "a.b",
        "a[0]",
        "open(a)",
        "a in b",
        "a in []",
        "a in [None]",
        "lambda: 1",
        "a ** 2",
        "[x for x in a]",
        "clip(a, 1)",
        "a is None",
        "f'{a}'",
    ],
)
def test_policy_dialect_refuses_unsafe_forms(text):
    with pytest.raises(ValueError, match="expression"):
        parse_expression(text, dialect="policy")


def test_arithmetic_dialect_stays_arithmetic():
    for text in ("a < b", "'x'", "a if b else 1", "not a", "clip(a, 0, 1)"):
        with pytest.raises(ValueError, match="expected numbers, variables"):
            parse_expression(text)


@pytest.mark.parametrize(
    "text",
    ["abs(0) < clip(a, a, a)", "abs(0) < min(a, b)", "abs(1) < a / b", "abs(0) == (a in [1])"],
)
def test_scalar_against_an_all_null_column_keeps_the_frame_height(text):
    """A constant expression against a null-guarded one, on a frame where every row is null
    (Polars gives a one-row result for ``when(all true).then(None).otherwise(...)``)."""
    frame = pl.DataFrame({"a": [None, None], "b": [0, 0]}, schema={"a": pl.Int64, "b": pl.Int64})
    out = frame.with_columns(x=parse_expression(text, dialect="policy").to_polars())
    assert out["x"].to_list() == [None, None]
