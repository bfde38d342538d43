"""The row backend of an expression: Python source text with the null rules inlined.

Variables come from ``ref(name)`` (the policy engine passes internal ids, never a name);
constants are written with ``repr``. On a typed tree (``fk_type`` on every node) integers
meeting numbers are converted with ``float`` first, integer results outside int64 and
non-finite number results are null, exactly as the Polars backend computes them.
"""

from __future__ import annotations

import ast
import math
import sys
from collections.abc import Callable, Mapping
from typing import Any, cast

from fengkong.expression._typing import INT64_MAX, INT64_MIN

__all__ = ["python_closure", "python_source"]

_SAFE_BUILTINS = {"min": min, "max": max, "abs": abs, "float": float, "frozenset": frozenset}
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
}
_FLOAT_MAX = sys.float_info.max
# the range a result must fall in, by type: the rest (overflow, inf, NaN) is null
_RANGE = {"integer": (INT64_MIN, INT64_MAX), "number": (-_FLOAT_MAX, _FLOAT_MAX)}


def _const(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    return repr(value)


def _type(node: ast.AST) -> str | None:
    return getattr(node, "fk_type", None)


class _Source:
    """Python source for a checked node; temporaries are unique."""

    def __init__(self, ref: Callable[[str], str]) -> None:
        self.ref = ref
        self.count = 0

    def temp(self) -> str:
        self.count += 1
        return f"_t{self.count}"

    def as_float(self, node: ast.expr, name: str, want: str | None) -> str:
        """``name`` (holding ``node``'s non-null value) as a float where an integer meets a
        number; unchanged otherwise."""
        return f"float({name})" if want == "number" and _type(node) == "integer" else name

    def constant(self, node: ast.Constant, want: str | None) -> str:
        if want == "number" and _type(node) == "integer":
            return _const(float(cast(int, node.value)))
        return _const(node.value)

    def checked(self, value: str, kind: str | None) -> str:
        """``value`` unless it leaves its type's range (then null); untyped: unchanged."""
        if kind not in _RANGE:
            return value
        r = self.temp()
        lo, hi = _RANGE[kind]
        return f"({r} if {lo!r} <= ({r} := {value}) <= {hi!r} else None)"

    def binary(self, node: ast.BinOp) -> str:
        kind = _type(node)
        div = isinstance(node.op, ast.Div)
        want = "number" if div and kind is not None else kind
        x, y = self.temp(), self.temp()
        guard = f" or {y} == 0" if div else ""
        body = (
            f"{self.as_float(node.left, x, want)} {_SYMBOL[type(node.op)]} "
            f"{self.as_float(node.right, y, want)}"
        )
        return (
            f"(None if ({x} := {self.of(node.left)}) is None or "
            f"({y} := {self.of(node.right)}) is None{guard} else {self.checked(body, kind)})"
        )

    def kleene(self, parts: list[ast.expr], is_and: bool) -> str:
        """``and`` / ``or`` over any number of parts, flat (no nesting per part): the first
        decisive part (False for ``and``) decides; else null if any part is null."""
        names = [self.temp() for _ in parts]
        decisive = "not " if is_and else ""
        tests = " or ".join(
            f"({n} := {self.of(part)}) is not None and {decisive}{n}"
            for n, part in zip(names, parts, strict=True)
        )
        unknown = " or ".join(f"{n} is None" for n in names)
        return f"({not is_and} if {tests} else (None if {unknown} else {is_and}))"

    def membership(self, node: ast.expr, right: ast.List | ast.Tuple) -> tuple[str | None, str]:
        """The type both sides of ``in`` meet at, and the literal set."""
        values = [e.value for e in right.elts if isinstance(e, ast.Constant)]
        want = None
        if _type(node) in ("integer", "number"):
            mixed = _type(node) == "number" or any(isinstance(v, float) for v in values)
            want = "number" if mixed else "integer"
            values = [float(cast(float, v)) if mixed else v for v in values]
        return want, "{" + ", ".join(_const(v) for v in values) + "}"

    def compare(self, node: ast.Compare) -> str:
        """One comparison, or a chain ``a < b < c`` as ``(a < b) and (b < c)`` (three-valued);
        a chain's terms are all computed first (each once), then compared."""
        if isinstance(node.ops[0], ast.In | ast.NotIn):  # never chained (the checker)
            word = "in" if isinstance(node.ops[0], ast.In) else "not in"
            right = node.comparators[0]
            assert isinstance(right, ast.List | ast.Tuple)
            want, literal = self.membership(node.left, right)
            t = self.temp()
            x = self.as_float(node.left, t, want)
            return f"(None if ({t} := {self.of(node.left)}) is None else {x} {word} {literal})"
        terms = [node.left, *node.comparators]
        names = [self.temp() for _ in terms]
        bound = [f"({n} := {self.of(t)})" for n, t in zip(names, terms, strict=True)]
        oks = []
        for k, op_node in enumerate(node.ops):
            kinds = {_type(terms[k]), _type(terms[k + 1])}
            want = "number" if kinds == {"integer", "number"} else None
            x = self.as_float(terms[k], names[k], want)
            y = self.as_float(terms[k + 1], names[k + 1], want)
            a, b = (bound[0], bound[1]) if len(terms) == 2 else (names[k], names[k + 1])
            sym = _SYMBOL[type(op_node)]
            oks.append(f"(None if {a} is None or {b} is None else {x} {sym} {y})")
        if len(oks) == 1:
            return oks[0]
        flags = [self.temp() for _ in oks]
        tests = " or ".join(f"({f} := {ok}) is False" for f, ok in zip(flags, oks, strict=True))
        unknown = " or ".join(f"{f} is None" for f in flags)
        kleene = f"(False if {tests} else (None if {unknown} else True))"
        return f"({kleene} if ({', '.join(bound)},) else None)"

    def unary(self, node: ast.UnaryOp) -> str:
        t = self.temp()
        if isinstance(node.op, ast.Not):
            return f"(None if ({t} := {self.of(node.operand)}) is None else not {t})"
        kind = _type(node)  # -x of a number is a number; of an integer, it may overflow
        value = self.checked(f"-{t}", kind) if kind == "integer" else f"-{t}"
        return f"(None if ({t} := {self.of(node.operand)}) is None else {value})"

    def branch(self, node: ast.expr, want: str | None) -> str:
        """A value converted to the type of the expression it is part of."""
        if want != "number" or _type(node) != "integer":
            return self.of(node)
        if isinstance(node, ast.Constant):
            return self.constant(node, want)
        t = self.temp()
        return f"(None if ({t} := {self.of(node)}) is None else float({t}))"

    def call(self, node: ast.Call) -> str:
        assert isinstance(node.func, ast.Name)
        name, kind = node.func.id, _type(node)
        if name == "is_null":
            arg = node.args[0]
            if isinstance(arg, ast.Constant):  # `5 is None` would be a SyntaxWarning
                return repr(arg.value is None)
            return f"({self.of(arg)} is None)"
        names = [self.temp() for _ in node.args]
        if name == "coalesce":  # every argument first (flat), then the first not null
            bound = ", ".join(
                f"({n} := {self.branch(a, kind)})" for n, a in zip(names, node.args, strict=True)
            )
            first = " else ".join(f"{n} if {n} is not None" for n in names)
            return f"(({first} else None) if ({bound},) else None)"
        nulls = " or ".join(
            f"({n} := {self.of(a)}) is None" for n, a in zip(names, node.args, strict=True)
        )
        args = [self.as_float(a, n, kind) for a, n in zip(node.args, names, strict=True)]
        if name == "abs":
            call = (
                self.checked(f"abs({args[0]})", "integer")
                if kind == "integer"
                else f"abs({args[0]})"
            )
        elif name == "clip":
            call = f"min(max({args[0]}, {args[1]}), {args[2]})"
        else:
            call = f"{name}({', '.join(args)})"
        return f"(None if {nulls} else {call})"

    def of(self, node: ast.expr) -> str:  # noqa: PLR0911 (one branch per node kind)
        if isinstance(node, ast.Constant):
            return self.constant(node, None)
        if isinstance(node, ast.Name):
            return self.ref(node.id)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.BoolOp):
            return self.kleene(list(node.values), isinstance(node.op, ast.And))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.IfExp):
            t, kind = self.temp(), _type(node)
            body, orelse = self.branch(node.body, kind), self.branch(node.orelse, kind)
            return f"({body} if ({t} := {self.of(node.test)}) is not None and {t} else {orelse})"
        assert isinstance(node, ast.Call)
        return self.call(node)


def python_source(tree: ast.expr, ref: Callable[[str], str]) -> str:
    """Python source text of a checked tree; ``ref(name)`` gives the source of a variable.

    >>> python_source(ast.parse("a / b", mode="eval").body, lambda n: f"row[{n!r}]")
    "(None if (_t1 := row['a']) is None or (_t2 := row['b']) is None or _t2 == 0 else _t1 / _t2)"
    """
    return _Source(ref).of(tree)


def python_closure(tree: ast.expr) -> Callable[[Mapping[str, Any]], Any]:
    """A function of a row mapping computing the tree, compiled through its source text."""
    source = python_source(tree, lambda name: f"row[{name!r}]")
    compiled: Callable[[Mapping[str, Any]], Any] = eval(  # the checked tree only (see above)
        f"lambda row: {source}", {"__builtins__": _SAFE_BUILTINS}
    )
    return compiled
