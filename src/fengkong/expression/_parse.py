"""Parsing and structural checks: what may appear in an expression, and how much of it."""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from fengkong.expression._polars import polars_expr
from fengkong.expression._python import python_closure
from fengkong.expression._typing import Type, annotate

__all__ = ["DIALECTS", "Dialect", "Expression", "ExpressionLimits", "parse_expression"]

Dialect = Literal["arithmetic", "policy"]
DIALECTS: tuple[Dialect, ...] = ("arithmetic", "policy")
_ALLOWED = {
    "arithmetic": "expected numbers, variables, + - * /, min, max, abs, coalesce",
    "policy": "expected numbers, strings, True/False/None, variables, + - * /, comparisons, "
    "in / not in a list, and/or/not, x if c else y, min, max, abs, coalesce, clip, is_null",
}
FUNCTIONS: Mapping[str, tuple[str, ...]] = {
    "arithmetic": ("min", "max", "abs", "coalesce"),
    "policy": ("min", "max", "abs", "coalesce", "clip", "is_null"),
}
# (fewest, most) arguments; None: no upper bound
ARITY: Mapping[str, tuple[int, int | None]] = {
    "min": (2, None),
    "max": (2, None),
    "abs": (1, 1),
    "clip": (3, 3),
    "is_null": (1, 1),
    "coalesce": (1, None),
}
_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_COMPARE = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)


@dataclass(frozen=True, slots=True)
class ExpressionLimits:
    """How large an expression may be: characters of text, nesting depth and node count.

    The limits keep every accepted expression compilable by both backends (the generated
    Python nests a few parentheses per level, and Python refuses more than 200) and keep a
    hostile file from exhausting the checker. The service and the CLI take them from
    :class:`fengkong.settings.Settings`.

    >>> ExpressionLimits().max_depth
    40
    """

    max_chars: int = 4_000
    max_depth: int = 40
    max_nodes: int = 1_000


def _depth_and_size(tree: ast.AST) -> tuple[int, int]:
    """Nesting depth and node count, without recursion (a hostile tree may be deep)."""
    deepest, count = 0, 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest, count


def _structure(node: ast.AST, text: str, names: set[str], dialect: Dialect) -> None:
    """Refuse anything outside the dialect; collect variable names."""

    def bad(what: str) -> ValueError:
        return ValueError(f"expression {text!r}: {what} is not allowed ({_ALLOWED[dialect]})")

    policy = dialect == "policy"
    if isinstance(node, ast.Constant):
        v = node.value
        numeric = isinstance(v, int | float) and not isinstance(v, bool)
        if not (numeric or (policy and (v is None or isinstance(v, bool | str)))):
            raise bad(f"the constant {v!r}")
    elif isinstance(node, ast.Name):
        if node.id in ("True", "False", "None"):
            raise bad(node.id)
        # Python folds compatibility characters (full-width letters …) into ASCII names:
        # a name must be written exactly as it is read
        if ast.get_source_segment(text, node) != node.id:
            raise bad(f"the name {ast.get_source_segment(text, node)!r} (names are ASCII)")
        names.add(node.id)
    elif isinstance(node, ast.UnaryOp):
        if not (isinstance(node.op, ast.USub) or (policy and isinstance(node.op, ast.Not))):
            raise bad(type(node.op).__name__)
        _structure(node.operand, text, names, dialect)
    elif isinstance(node, ast.BinOp):
        if not isinstance(node.op, _BINARY):
            raise bad(type(node.op).__name__)
        _structure(node.left, text, names, dialect)
        _structure(node.right, text, names, dialect)
    elif policy and isinstance(node, ast.BoolOp):
        for operand in node.values:
            _structure(operand, text, names, dialect)
    elif policy and isinstance(node, ast.Compare):
        if len(node.ops) > 1 and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops):
            raise bad("`in` in a chain of comparisons (write `and`)")
        _structure(node.left, text, names, dialect)
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                ok = (
                    isinstance(right, ast.List | ast.Tuple)
                    and right.elts
                    and all(
                        isinstance(e, ast.Constant)
                        and not isinstance(e.value, bool)
                        and e.value is not None
                        for e in right.elts
                    )
                )
                if not ok:
                    raise bad("`in` with anything but a non-empty list of constants")
                assert isinstance(right, ast.List | ast.Tuple)
                for e in right.elts:
                    _structure(e, text, names, dialect)
            elif not isinstance(op, _COMPARE):
                raise bad(type(op).__name__)
            else:
                _structure(right, text, names, dialect)
    elif policy and isinstance(node, ast.IfExp):
        for part in (node.test, node.body, node.orelse):
            _structure(part, text, names, dialect)
    elif isinstance(node, ast.Call):
        funcs = FUNCTIONS[dialect]
        if not isinstance(node.func, ast.Name) or node.func.id not in funcs or node.keywords:
            raise bad(f"a call other than {', '.join(funcs)}")
        low, high = ARITY[node.func.id]
        if len(node.args) < low or (high is not None and len(node.args) > high):
            wanted = f"{low}" if low == high else f"at least {low}"
            raise bad(f"{node.func.id} with {len(node.args)} arguments (expected {wanted})")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise bad("a starred argument")
            _structure(arg, text, names, dialect)
    else:
        raise bad(type(node).__name__)


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed expression: the variables it reads, a row evaluator and a Polars expression.

    A *typed* expression (``types`` given to :func:`parse_expression`, or :meth:`typed`)
    has a ``type`` and runs under the typed semantics of :mod:`fengkong.expression`: the
    same result in both backends for every input, integer overflow and non-finite
    results null.
    """

    text: str
    names: frozenset[str]
    dialect: Dialect
    _tree: ast.expr
    _compiled: Callable[[Mapping[str, Any]], Any] = field(repr=False, compare=False)
    type: Type | None = None

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        """The value for one row (a mapping of variable name to value; None is null)."""
        return self._compiled(row)

    def to_polars(self) -> pl.Expr:
        """The same computation as a Polars expression over columns named like the variables."""
        return polars_expr(self._tree)

    def typed(self, types: Mapping[str, Type]) -> Expression:
        """This expression typed against the variables' types; ``ValueError`` names the
        first mismatch (a text compared with a number, arithmetic on text, …).

        >>> e = parse_expression("age + 1", dialect="policy").typed({"age": "integer"})
        >>> e.type, e.evaluate({"age": 9223372036854775807}) is None
        ('integer', True)
        """
        tree = copy.deepcopy(self._tree)
        result = annotate(tree, self.text, types)
        return Expression(self.text, self.names, self.dialect, tree, python_closure(tree), result)


def parse_expression(
    text: str,
    *,
    dialect: Dialect = "arithmetic",
    types: Mapping[str, Type] | None = None,
    limits: ExpressionLimits | None = None,
) -> Expression:
    """Parse and check an expression; ``ValueError`` names what is not allowed.

    ``types`` (variable name to type) types it as well (see :meth:`Expression.typed`);
    ``limits`` bounds its size (default :class:`ExpressionLimits`).

    >>> parse_expression("max(age)", dialect="policy")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: expression 'max(age)': max with 1 arguments (expected at least 2) is not allowed ...
    """
    if dialect not in DIALECTS:
        raise ValueError(f"dialect: expected one of {DIALECTS}, got {dialect!r}")
    if not isinstance(text, str):
        raise ValueError(f"expression: expected text, got {type(text).__name__}")
    limits = limits or ExpressionLimits()
    shown = text if len(text) <= 80 else text[:77] + "..."
    if len(text) > limits.max_chars:
        raise ValueError(
            f"expression {shown!r}: {len(text):,} characters (expected at most "
            f"{limits.max_chars:,}; split it into derived values)"
        )
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"expression {shown!r}: not valid syntax ({exc.msg})") from None
    except (RecursionError, MemoryError):
        raise ValueError(
            f"expression {shown!r}: nested too deeply to parse "
            f"(expected a depth of at most {limits.max_depth})"
        ) from None
    depth, size = _depth_and_size(tree)
    if depth > limits.max_depth:
        raise ValueError(
            f"expression {shown!r}: nested {depth} deep (expected at most "
            f"{limits.max_depth}; split it into derived values)"
        )
    if size > limits.max_nodes:
        raise ValueError(
            f"expression {shown!r}: {size:,} parts (expected at most {limits.max_nodes:,}; "
            "split it into derived values)"
        )
    names: set[str] = set()
    _structure(tree, text, names, dialect)
    expr = Expression(
        text, frozenset(names - set(FUNCTIONS[dialect])), dialect, tree, python_closure(tree)
    )
    return expr if types is None else expr.typed(types)
