"""The policy dialect of the expression language: row and Polars backends agree on everything.

Random well-typed expressions from the grammar (integer arithmetic up to the int64 extremes,
numbers from subnormal to 1e308, texts joined with ``+``, comparisons, ``in``, three-valued
``and``/``or``/``not``, ``if``/``else``, ``clip``, ``is_null``, ``coalesce``) over random rows
drawn from the whole domain (every int64, ±inf, -0.0, subnormals, long non-ASCII text,
nulls), evaluated by the compiled Python closure and by Polars, must be equal.
"""

import datetime as dt

import polars as pl
import pytest
from expression_grammar import TYPES, any_expression, finite_floats, int64s, texts
from hypothesis import given, settings
from hypothesis import strategies as st

from fengkong.expression import parse_expression

_SCHEMA = {
    "integer": pl.Int64,
    "number": pl.Float64,
    "text": pl.String,
    "boolean": pl.Boolean,
    "date": pl.Date,
}
_VALUES = {
    "integer": int64s,
    "number": st.one_of(finite_floats, st.sampled_from([float("inf"), float("-inf")])),
    "text": texts,
    "boolean": st.booleans(),
    "date": st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)),
}
rows = st.fixed_dictionaries(
    {name: st.one_of(st.none(), _VALUES[kind]) for name, kind in TYPES.items()}
)


@settings(max_examples=1000, deadline=None)
@given(text=any_expression(), row=rows)
def test_row_and_polars_backends_agree(text, row):
    expr = parse_expression(text, dialect="policy", types=TYPES)
    frame = pl.DataFrame(
        {k: [v] for k, v in row.items()}, schema={k: _SCHEMA[t] for k, t in TYPES.items()}
    )
    expected = expr.evaluate(row)
    got = frame.select(expr.to_polars().alias("v")).item()
    assert got == expected, (text, row, got, expected)
    assert type(got) is type(expected) or got is None or expected is None, (text, got, expected)


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
