"""Hypothesis strategies for well-typed expressions of the policy dialect, and hostile values.

Expressions are built type-directed, so every one passes the type checker: integers (``a``,
``b`` and literals up to the int64 extremes), numbers (``x``, ``y``, finite literals from
subnormal to 1e308), texts (``s``, ``t``, literals with quotes and non-ASCII), booleans
(``p``) and dates (``d``, ``e``, compared only). Values draw from the whole domain: every
int64, floats with ±inf, -0.0, subnormals and huge magnitudes, long non-ASCII text.
"""

from functools import lru_cache

from hypothesis import strategies as st

TYPES = {
    "a": "integer",
    "b": "integer",
    "x": "number",
    "y": "number",
    "s": "text",
    "t": "text",
    "p": "boolean",
    "d": "date",
    "e": "date",
}
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
EDGE_INTS = [0, 1, -1, 2, 3037000499, 3037000500, 2**31, 2**53 + 1, 2**62, INT64_MAX, INT64_MIN]
EDGE_FLOATS = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1e308, -1e308, 0.1, 1.5]

int64s = st.one_of(st.sampled_from(EDGE_INTS), st.integers(INT64_MIN, INT64_MAX))
finite_floats = st.one_of(
    st.sampled_from(EDGE_FLOATS), st.floats(allow_nan=False, allow_infinity=False)
)
# text a Polars column can hold (no lone surrogates): quotes, backslashes, non-ASCII, long
texts = st.one_of(
    st.sampled_from(["x", "y", "z", "", "年龄", "it's", 'a"b', "\\n", "ａ"]),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=300),
)

_INT_LITERALS = st.one_of(st.sampled_from([0, 1, 2, 10, 3037000500, INT64_MAX]), st.integers())
_NUM_LITERALS = st.sampled_from(["0.5", "1e308", "5e-324", "2.5", "1.0", "0.0", "1e-300", "3.0"])
_TEXT_LITERALS = st.sampled_from(["'x'", "'y'", "''", "'年'", "'it\\'s'", "'\\\\'"])


def _int_literal(v: int) -> str:
    return str(min(max(v, -INT64_MAX), INT64_MAX))


@lru_cache
def integer(depth: int = 3) -> st.SearchStrategy[str]:
    """Integer-typed expressions nested at most ``depth`` deep."""
    leaf = st.one_of(st.sampled_from(["a", "b"]), _INT_LITERALS.map(_int_literal))
    if depth == 0:
        return leaf
    i = integer(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(i, st.sampled_from(["+", "-", "*"]), i).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["min", "max", "coalesce"]), i, i).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"
        ),
        i.map(lambda v: f"abs({v})"),
        i.map(lambda v: f"(-{v})"),
        st.tuples(i, i, i).map(lambda t: f"clip({t[0]}, {t[1]}, {t[2]})"),
        st.tuples(i, boolean(depth - 1), i).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
    )


@lru_cache
def number(depth: int = 3) -> st.SearchStrategy[str]:
    """Number-typed expressions (integers meet numbers as numbers; ``/`` is a number)."""
    leaf = st.one_of(st.sampled_from(["x", "y"]), _NUM_LITERALS)
    if depth == 0:
        return leaf
    n = number(depth - 1)
    either = st.one_of(n, integer(depth - 1))
    return st.one_of(
        leaf,
        st.tuples(n, st.sampled_from(["+", "-", "*", "/"]), either).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(either, either).map(lambda t: f"({t[0]} / {t[1]})"),
        st.tuples(st.sampled_from(["min", "max", "coalesce"]), n, either).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"
        ),
        n.map(lambda v: f"abs({v})"),
        n.map(lambda v: f"(-{v})"),
        st.tuples(n, either, either).map(lambda t: f"clip({t[0]}, {t[1]}, {t[2]})"),
        st.tuples(n, boolean(depth - 1), either).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
    )


@lru_cache
def text(depth: int = 2) -> st.SearchStrategy[str]:
    """Text-typed expressions: variables, literals, ``+`` joins, if/else, coalesce."""
    leaf = st.one_of(st.sampled_from(["s", "t"]), _TEXT_LITERALS)
    if depth == 0:
        return leaf
    tx = text(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(tx, tx).map(lambda t: f"({t[0]} + {t[1]})"),
        st.tuples(tx, tx).map(lambda t: f"coalesce({t[0]}, {t[1]})"),
        st.tuples(tx, boolean(depth - 1), tx).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
    )


@lru_cache
def boolean(depth: int = 3) -> st.SearchStrategy[str]:
    """Boolean-typed expressions: comparisons of like with like, ``in``, Kleene logic."""
    ops = st.sampled_from(["<", "<=", ">", ">=", "==", "!="])
    numeric = st.one_of(integer(max(depth - 1, 0)), number(max(depth - 1, 0)))
    tx = text(min(depth, 1))
    atoms = st.one_of(
        st.sampled_from(["p", "True", "False", "(d < e)", "(d == e)", "is_null(d)"]),
        st.tuples(numeric, ops, numeric).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(numeric, ops, numeric, ops, numeric).map(lambda t: f"({' '.join(t)})"),
        st.tuples(tx, st.sampled_from(["==", "!="]), tx).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(tx, st.sampled_from(["in", "not in"])).map(
            lambda t: f"({t[0]} {t[1]} ['x', 'y', '年'])"
        ),
        st.tuples(numeric, st.sampled_from(["in", "not in"])).map(
            lambda t: f"({t[0]} {t[1]} [0, 1, 2.5, {INT64_MAX}])"
        ),
        st.one_of(numeric, tx).map(lambda v: f"is_null({v})"),
    )
    if depth == 0:
        return atoms
    b = boolean(depth - 1)
    return st.one_of(
        atoms,
        st.tuples(b, st.sampled_from(["and", "or"]), b).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        b.map(lambda v: f"(not {v})"),
        st.tuples(b, b, b).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
    )


def any_expression(depth: int = 3) -> st.SearchStrategy[str]:
    """An expression of any type."""
    return st.one_of(integer(depth), number(depth), text(depth), boolean(depth))
