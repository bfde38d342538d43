"""A small, safe arithmetic language over variables, compiled to Python and to Polars.

Grammar: numbers, variable names, ``+ - * /``, unary minus, parentheses and the functions
``min(a, b, ...)``, ``max(a, b, ...)``, ``abs(a)`` and ``coalesce(a, b, ...)``. Nothing else
parses: no attribute access, no other calls, no comparisons.

Null rules, identical in both backends: any null operand gives null (``coalesce`` excepted:
its first non-null argument); division by zero gives null; ``/`` is true division.

Examples
--------
>>> e = parse_expression("app_cnt_person_7d / max(app_cnt_person_30d, 1)")
>>> sorted(e.names)
['app_cnt_person_30d', 'app_cnt_person_7d']
>>> e.evaluate({"app_cnt_person_7d": 3, "app_cnt_person_30d": 0})
3.0
>>> e.evaluate({"app_cnt_person_7d": None, "app_cnt_person_30d": 4}) is None
True
>>> parse_expression("x.__class__")
Traceback (most recent call last):
...
ValueError: expression 'x.__class__': Attribute is not allowed (expected numbers, variables, + - * /, min, max, abs, coalesce)
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

__all__ = ["Expression", "parse_expression"]

_ALLOWED = "expected numbers, variables, + - * /, min, max, abs, coalesce"
_FUNCS = ("min", "max", "abs", "coalesce")
Value = int | float | None
Row = Mapping[str, Any]


def _div(a: Any, b: Any) -> Any:
    return None if a is None or b is None or b == 0 else a / b


def _strict(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*args: Any) -> Any:
        return None if any(a is None for a in args) else fn(*args)

    return wrapped


_PY_BIN: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: _strict(lambda a, b: a + b),
    ast.Sub: _strict(lambda a, b: a - b),
    ast.Mult: _strict(lambda a, b: a * b),
    ast.Div: _div,
}
_PY_FUNC: dict[str, Callable[..., Any]] = {
    "min": _strict(min),
    "max": _strict(max),
    "abs": _strict(abs),
    "coalesce": lambda *args: next((a for a in args if a is not None), None),
}


def _pl_any_null(args: list[pl.Expr]) -> pl.Expr:
    return pl.any_horizontal([a.is_null() for a in args])


def _pl_func(name: str, args: list[pl.Expr]) -> pl.Expr:
    if name == "coalesce":
        return pl.coalesce(args)
    if name == "abs":
        return args[0].abs()
    combined = pl.min_horizontal(args) if name == "min" else pl.max_horizontal(args)
    return pl.when(_pl_any_null(args)).then(None).otherwise(combined)


def _pl_bin(op: type[ast.operator], a: pl.Expr, b: pl.Expr) -> pl.Expr:
    if op is ast.Div:
        return pl.when(b == 0).then(None).otherwise(a.cast(pl.Float64) / b)
    if op is ast.Add:
        return a + b
    if op is ast.Sub:
        return a - b
    return a * b


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed expression: the variables it reads, a row evaluator and a Polars expression."""

    text: str
    names: frozenset[str]
    _tree: ast.expr

    def evaluate(self, row: Row) -> Value:
        """The value for one row (a mapping of variable name to value)."""
        return self._eval(self._tree, row)  # type: ignore[no-any-return]

    def _eval(self, node: ast.expr, row: Row) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return row[node.id]
        if isinstance(node, ast.UnaryOp):
            value = self._eval(node.operand, row)
            return None if value is None else -value
        if isinstance(node, ast.BinOp):
            return _PY_BIN[type(node.op)](self._eval(node.left, row), self._eval(node.right, row))
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        return _PY_FUNC[node.func.id](*(self._eval(a, row) for a in node.args))

    def to_polars(self) -> pl.Expr:
        """The same computation as a Polars expression over columns named like the variables."""
        return self._polars(self._tree)

    def _polars(self, node: ast.expr) -> pl.Expr:
        if isinstance(node, ast.Constant):
            return pl.lit(node.value)
        if isinstance(node, ast.Name):
            return pl.col(node.id)
        if isinstance(node, ast.UnaryOp):
            return -self._polars(node.operand)
        if isinstance(node, ast.BinOp):
            return _pl_bin(type(node.op), self._polars(node.left), self._polars(node.right))
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        return _pl_func(node.func.id, [self._polars(a) for a in node.args])


def _validate(node: ast.AST, text: str, names: set[str]) -> None:
    def bad(what: str) -> ValueError:
        return ValueError(f"expression {text!r}: {what} is not allowed ({_ALLOWED})")

    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise bad(f"the constant {node.value!r}")
    elif isinstance(node, ast.Name):
        names.add(node.id)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub):
            raise bad(type(node.op).__name__)
        _validate(node.operand, text, names)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _PY_BIN:
            raise bad(type(node.op).__name__)
        _validate(node.left, text, names)
        _validate(node.right, text, names)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCS or node.keywords:
            raise bad("a call other than min, max, abs or coalesce")
        if not node.args or (node.func.id == "abs" and len(node.args) != 1):
            raise bad(f"{node.func.id} with {len(node.args)} arguments")
        for arg in node.args:
            _validate(arg, text, names)
    else:
        raise bad(type(node).__name__)


def parse_expression(text: str) -> Expression:
    """Parse and check an expression; ``ValueError`` names what is not allowed."""
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"expression {text!r}: not valid syntax ({exc.msg})") from None
    names: set[str] = set()
    _validate(tree, text, names)
    return Expression(text, frozenset(names - set(_FUNCS)), tree)
