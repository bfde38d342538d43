"""Static types of the policy dialect: every node annotated, every mismatch refused.

Types are ``integer`` (int64), ``number`` (float64), ``text``, ``boolean``, ``date``,
``list`` (a collect table's matches: opaque) and ``null`` (the literal ``None``). An integer
meets a number as a number (the integer converted first, the same way in both backends);
``+`` also joins two texts.
The checker annotates each AST node with ``fk_type`` for the two code generators.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from typing import Literal

__all__ = ["INT64_MAX", "INT64_MIN", "TYPES", "Type", "annotate", "node_type"]

Type = Literal["integer", "number", "text", "boolean", "date", "list", "null"]
TYPES: tuple[Type, ...] = ("integer", "number", "text", "boolean", "date", "list", "null")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_NUMERIC = ("integer", "number")
_ORDERED = ("integer", "number", "date")
_SYMBOL = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.In: "in",
    ast.NotIn: "not in",
}


def node_type(node: ast.AST) -> Type:
    """The type the checker gave a node."""
    found: Type = node.fk_type  # type: ignore[attr-defined]
    return found


def unify(a: Type, b: Type) -> Type | None:
    """The type of a value that may be either (if/else branches, coalesce), or None."""
    if b in (a, "null"):
        return a
    if a == "null":
        return b
    if a in _NUMERIC and b in _NUMERIC:
        return "number"
    return None


def _literal_type(value: object) -> Type | str:  # noqa: PLR0911 (one per kind)
    """The type of a constant, or a message saying why it is refused."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            return f"the integer {value} is outside the 64-bit range"
        return "integer"
    if isinstance(value, float):
        return "number" if math.isfinite(value) else f"the number {value!r} is not finite"
    if isinstance(value, str):
        return "text"
    return f"the constant {value!r}"


class _Checker:
    def __init__(self, text: str, types: Mapping[str, Type]) -> None:
        self.text = text
        self.types = types

    def fail(self, node: ast.AST, message: str) -> ValueError:
        part = ast.get_source_segment(self.text, node) or self.text
        return ValueError(f"expression {self.text!r}: type mismatch: {message} in {part!r}")

    def operand(self, node: ast.expr, allowed: tuple[str, ...], what: str) -> Type:
        t = self.visit(node)
        if t not in allowed:
            raise self.fail(node, f"{what} needs {' or '.join(allowed)}, got {t}")
        return t

    def visit(self, node: ast.expr) -> Type:
        t = self._visit(node)
        node.fk_type = t  # type: ignore[attr-defined]
        return t

    def _visit(self, node: ast.expr) -> Type:  # noqa: PLR0911 (one branch per node kind)
        if isinstance(node, ast.Constant):
            found = _literal_type(node.value)
            if found not in TYPES:
                raise self.fail(node, str(found))
            return found
        if isinstance(node, ast.Name):
            if node.id not in self.types:
                raise self.fail(node, f"unknown variable {node.id!r}")
            return self.types[node.id]
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                self.operand(node.operand, ("boolean",), "not")
                return "boolean"
            return self.operand(node.operand, _NUMERIC, "unary -")
        if isinstance(node, ast.BinOp):
            sym = _SYMBOL[type(node.op)]
            a = self.visit(node.left)
            if isinstance(node.op, ast.Add) and a == "text":
                self.operand(node.right, ("text",), "text + (joining text)")
                return "text"
            if a not in _NUMERIC:
                raise self.fail(node.left, f"arithmetic ({sym}) needs integer or number, got {a}")
            b = self.operand(node.right, _NUMERIC, f"arithmetic ({sym})")
            if isinstance(node.op, ast.Div):
                return "number"
            return "integer" if a == b == "integer" else "number"
        if isinstance(node, ast.BoolOp):
            word = "and" if isinstance(node.op, ast.And) else "or"
            for v in node.values:
                self.operand(v, ("boolean",), word)
            return "boolean"
        if isinstance(node, ast.Compare):
            self.compare(node)
            return "boolean"
        if isinstance(node, ast.IfExp):
            self.operand(node.test, ("boolean",), "the condition of if/else")
            a, b = self.visit(node.body), self.visit(node.orelse)
            both = unify(a, b)
            if both is None:
                raise self.fail(node, f"if/else gives {a} or {b} (expected one type)")
            return both
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        return self.call(node, node.func.id)

    def compare(self, node: ast.Compare) -> None:
        left = self.visit(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            sym = _SYMBOL[type(op)]
            if left == "null":
                raise self.fail(node, f"None {sym} … is always null (use is_null)")
            if isinstance(op, ast.In | ast.NotIn):
                assert isinstance(right_node, ast.List | ast.Tuple)
                kinds = {self.visit(e) for e in right_node.elts}
                right_node.fk_type = "list"  # type: ignore[union-attr]
                if left == "text" and kinds == {"text"}:
                    continue
                if left in _NUMERIC and kinds <= set(_NUMERIC):
                    continue
                raise self.fail(
                    node, f"{sym} compares {left} with a list of {' and '.join(sorted(kinds))}"
                )
            right = self.visit(right_node)
            if right == "null":
                raise self.fail(node, f"… {sym} None is always null (use is_null)")
            ordering = isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE)
            same = left == right or (left in _NUMERIC and right in _NUMERIC)
            if not same or (ordering and left not in _ORDERED) or left == "list":
                why = "only numbers and dates are ordered" if same else "compare like with like"
                raise self.fail(node, f"{left} {sym} {right} ({why})")
            left = right

    def call(self, node: ast.Call, name: str) -> Type:
        if name == "is_null":
            self.visit(node.args[0])
            return "boolean"
        if name == "coalesce":
            kinds = [self.visit(a) for a in node.args]
            out: Type | None = kinds[0]
            for k in kinds[1:]:
                out = unify(out, k) if out is not None else None
            if out is None:
                raise self.fail(node, f"coalesce of {', '.join(kinds)} (expected one type)")
            return out
        kinds = [self.operand(a, _NUMERIC, name) for a in node.args]
        return "integer" if all(k == "integer" for k in kinds) else "number"


def annotate(tree: ast.expr, text: str, types: Mapping[str, Type]) -> Type:
    """Annotate every node of ``tree`` with its type; the type of the whole."""
    return _Checker(text, types).visit(tree)
