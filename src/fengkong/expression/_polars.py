"""The batch backend of an expression: one Polars expression over columns named like the
variables.

Every sub-expression is read once: Polars plans an expression that reads a part twice as a
tree, so such forms nested a few dozen deep never finish planning. Where a value needs its
arguments twice (``min``/``max``/``clip`` with their null rule, a chained comparison, a
division), the arguments are packed into a struct once and combined over materialised
columns (:func:`_packed`). Parts that read no variable are computed in Python and become
literals, and an ``if`` with a constant condition is decided at compile time (Polars 2.1 can
give such forms as a one-row column that no longer broadcasts).

On a typed tree, integer arithmetic runs in Int128 and comes back to Int64 only when it
fits (else null), and number results that are not finite are null: Polars wraps Int64,
orders NaN above every number and divides by a scalar through its reciprocal, Python does
none of these, so both backends compute the one semantics in :mod:`fengkong.expression`.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any, cast

import polars as pl

from fengkong.expression._python import python_closure

__all__ = ["polars_expr"]

_BIN: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_CMP: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_DTYPES = {"integer": pl.Int64, "number": pl.Float64, "text": pl.String, "boolean": pl.Boolean}
_NOT_FINITE = [float("inf"), float("-inf"), float("nan")]


def _type(node: ast.AST) -> str | None:
    return getattr(node, "fk_type", None)


def _any_null(args: list[pl.Expr]) -> pl.Expr:
    return pl.any_horizontal([a.is_null() for a in args])


def _packed(
    args: list[pl.Expr], combine: Callable[[list[pl.Expr]], pl.Expr], dtype: Any
) -> pl.Expr:
    """``combine`` of the arguments, each argument used once.

    Polars expands an expression that reads a sub-expression twice into a tree, so forms
    like ``when(any null).then(min(args))`` nested a few dozen deep never finish planning;
    here the arguments are packed into a struct once and combined on each batch of
    materialised columns.
    """
    names = [f"_{k}" for k in range(len(args))]

    def run(packed: pl.Series) -> pl.Series:
        return packed.struct.unnest().select(combine([pl.col(n) for n in names])).to_series()

    struct = pl.struct([a.alias(n) for a, n in zip(args, names, strict=True)])
    return struct.map_batches(run, return_dtype=dtype, is_elementwise=True)


def _strict(value: Callable[[list[pl.Expr]], pl.Expr]) -> Callable[[list[pl.Expr]], pl.Expr]:
    """``value`` of the columns, null where any of them is null."""
    return lambda cols: pl.when(_any_null(cols).not_()).then(value(cols))


def _as(node: ast.expr, want: str | None) -> pl.Expr:
    """The node's expression, cast to Float64 where an integer meets a number."""
    value = polars_expr(node)
    if want == "number" and _type(node) == "integer":
        return value.cast(pl.Float64)
    return value


def _int64(wide: pl.Expr) -> pl.Expr:
    """An Int128 result back in Int64, null where it does not fit."""
    return wide.cast(pl.Int64, strict=False)


def _finite(value: pl.Expr) -> pl.Expr:
    """A Float64 result with ±inf and NaN made null."""
    return value.replace(_NOT_FINITE, None)  # one use of value (fill_nan would be two)


def _binary(node: ast.BinOp) -> pl.Expr:
    kind, op = _type(node), _BIN[type(node.op)]
    if isinstance(node.op, ast.Div):
        a, b = _as(node.left, "number"), _as(node.right, "number")
        # packed: each operand read once, and two columns divided (Polars divides by a
        # scalar as a multiplication by its reciprocal, off by a unit in the last place)
        if kind is None:
            divide = _strict(lambda c: pl.when(c[1] != 0).then(c[0].cast(pl.Float64) / c[1]))
            return _packed([a, b], divide, pl.Float64)
        if _constant(node.right):
            return _finite(_packed([a, b], lambda c: c[0] / c[1], pl.Float64))
        return _finite(a / b)  # x / 0 is ±inf or NaN, so null
    if kind == "integer":
        wide = op(polars_expr(node.left).cast(pl.Int128), polars_expr(node.right).cast(pl.Int128))
        return _int64(wide)
    value = op(_as(node.left, kind), _as(node.right, kind))
    return _finite(value) if kind == "number" else value


def _literal(value: Any, kind: str | None) -> pl.Expr:
    dtype = _DTYPES.get(kind or "")
    if dtype is None:
        return pl.lit(value)
    if value is None:
        return pl.lit(None, dtype)
    return pl.lit(float(value) if kind == "number" else value, dtype)


def _cast(value: pl.Expr, node: ast.expr, want: str | None) -> pl.Expr:
    """``value`` (the node's expression) cast to Float64 where an integer meets a number."""
    return value.cast(pl.Float64) if want == "number" and _type(node) == "integer" else value


def _pieces(node: ast.Compare, cols: list[pl.Expr]) -> list[pl.Expr]:
    """Each comparison of a chain, over the terms' expressions ``cols``."""
    terms = [node.left, *node.comparators]
    pieces = []
    for k, op_node in enumerate(node.ops):
        right = terms[k + 1]
        if isinstance(op_node, ast.In | ast.NotIn):
            assert isinstance(right, ast.List | ast.Tuple)
            values = [c.value for c in right.elts if isinstance(c, ast.Constant)]
            want = None
            if _type(terms[k]) in ("integer", "number"):
                mixed = _type(terms[k]) == "number" or any(isinstance(v, float) for v in values)
                want = "number" if mixed else "integer"
                values = [float(cast(float, v)) if mixed else v for v in values]
            listed = pl.Series(values, dtype=_DTYPES.get(want or "")) if want else values
            hit = _cast(cols[k], terms[k], want).is_in(listed)  # null for a null value
            pieces.append(hit if isinstance(op_node, ast.In) else hit.not_())
        else:
            kinds = {_type(terms[k]), _type(right)}
            want = "number" if kinds == {"integer", "number"} else None
            a, b = _cast(cols[k], terms[k], want), _cast(cols[k + 1], right, want)
            pieces.append(_CMP[type(op_node)](a, b))
    return pieces


def _compare(node: ast.Compare) -> pl.Expr:
    """A comparison; a chain ``a < b < c`` is ``(a < b) and (b < c)``, three-valued, with its
    terms packed once (a middle term is read by two comparisons)."""
    terms = [node.left, *node.comparators]
    cols = [pl.lit(None) if isinstance(t, ast.List | ast.Tuple) else polars_expr(t) for t in terms]
    if len(node.ops) == 1:
        return _pieces(node, cols)[0]
    return _packed(cols, lambda c: pl.all_horizontal(_pieces(node, c)), pl.Boolean)


def _unary(node: ast.UnaryOp) -> pl.Expr:
    inner = polars_expr(node.operand)
    if isinstance(node.op, ast.Not):
        return inner.cast(pl.Boolean).not_()
    if _type(node) == "integer":
        return _int64(pl.lit(0, pl.Int128) - inner.cast(pl.Int128))
    return -inner


def _call(node: ast.Call) -> pl.Expr:
    assert isinstance(node.func, ast.Name)
    name, kind = node.func.id, _type(node)
    args = [_as(a, kind) for a in node.args]
    if name == "coalesce":
        return pl.coalesce(args)
    if name == "is_null":
        return args[0].is_null()
    if name == "abs":
        if kind == "integer":
            return _int64(args[0].cast(pl.Int128).abs())
        return args[0].abs()
    if name == "clip":
        value = _strict(lambda c: pl.min_horizontal(pl.max_horizontal(c[0], c[1]), c[2]))
    else:
        value = _strict(pl.min_horizontal if name == "min" else pl.max_horizontal)
    return _packed(args, value, _DTYPES.get(kind or ""))


def _constant(node: ast.expr) -> bool:
    """Whether the tree reads no variable (a function's name is not one)."""
    functions = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    return not any(isinstance(n, ast.Name) and id(n) not in functions for n in ast.walk(node))


def polars_expr(node: ast.expr) -> pl.Expr:  # noqa: PLR0911 (one branch per node kind)
    """The Polars expression of a checked (and possibly typed) tree.

    A typed part that reads no variable is computed once, in Python (the same semantics),
    and becomes a literal: Polars 2.1 can turn ``when`` over literals into a one-row
    column that no longer broadcasts against the frame.
    """
    if isinstance(node, ast.Constant):
        return _literal(node.value, _type(node))
    if _type(node) is not None and _constant(node):
        return _literal(python_closure(node)({}), _type(node))
    if isinstance(node, ast.Name):
        return pl.col(node.id)
    if isinstance(node, ast.UnaryOp):
        return _unary(node)
    if isinstance(node, ast.BinOp):
        return _binary(node)
    if isinstance(node, ast.BoolOp):
        parts = [polars_expr(v).cast(pl.Boolean) for v in node.values]  # flat, three-valued
        return (
            pl.all_horizontal(parts) if isinstance(node.op, ast.And) else pl.any_horizontal(parts)
        )
    if isinstance(node, ast.Compare):
        return _compare(node)
    if isinstance(node, ast.IfExp):
        kind = _type(node)
        if kind is not None and _constant(node.test):  # Polars 2.1 may give `when(true)` one row
            return _as(node.body if python_closure(node.test)({}) else node.orelse, kind)
        cond = polars_expr(node.test).cast(pl.Boolean).fill_null(False)
        return pl.when(cond).then(_as(node.body, kind)).otherwise(_as(node.orelse, kind))
    assert isinstance(node, ast.Call)
    return _call(node)
