"""A small, safe expression language compiled to a Python closure and to a Polars expression.

One implementation, two dialects:

* ``"arithmetic"`` (risk-variable specs): numbers, variable names, ``+ - * /``, unary minus,
  parentheses and ``min``, ``max``, ``abs``, ``coalesce``;
* ``"policy"`` (decision policies) adds strings, ``True``/``False``/``None``, comparisons
  (``< <= > >= == !=``, chained), ``in`` / ``not in`` a literal list, ``and`` / ``or`` /
  ``not``, ``x if cond else y``, and the functions ``clip(x, lo, hi)`` and ``is_null(x)``.

Nothing else parses: no attribute access, subscripts, other calls, lambdas or comprehensions.

Null rules, identical in both backends (property tests hold them together):

* arithmetic, comparisons, ``in``, ``min``/``max``/``abs``/``clip``: any null operand gives null;
  division by zero gives null; ``/`` is true division;
* ``coalesce``: the first non-null argument; ``is_null(x)``: true or false, never null;
* ``and`` / ``or`` / ``not``: three-valued (Kleene) logic — ``False and null`` is false,
  ``True or null`` is true, otherwise null propagates;
* ``a if cond else b``: ``b`` unless ``cond`` is true (a null condition takes ``b``).

Examples
--------
>>> e = parse_expression("app_cnt_person_7d / max(app_cnt_person_30d, 1)")
>>> e.evaluate({"app_cnt_person_7d": 3, "app_cnt_person_30d": 0})
3.0
>>> rule = parse_expression("age < 18 or channel in ['h5', 'partner_api']", dialect="policy")
>>> sorted(rule.names), rule.evaluate({"age": 30, "channel": "h5"})
(['age', 'channel'], True)
>>> rule.evaluate({"age": None, "channel": "app"}) is None
True
>>> parse_expression("x.__class__")
Traceback (most recent call last):
...
ValueError: expression 'x.__class__': Attribute is not allowed (expected numbers, variables, + - * /, min, max, abs, coalesce)
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

__all__ = ["DIALECTS", "Expression", "parse_expression", "python_source"]

DIALECTS = ("arithmetic", "policy")
_ALLOWED = {
    "arithmetic": "expected numbers, variables, + - * /, min, max, abs, coalesce",
    "policy": "expected numbers, strings, True/False/None, variables, + - * /, comparisons, "
    "in / not in a list, and/or/not, x if c else y, min, max, abs, coalesce, clip, is_null",
}
_FUNCS = {
    "arithmetic": ("min", "max", "abs", "coalesce"),
    "policy": ("min", "max", "abs", "coalesce", "clip", "is_null"),
}
_ARITY = {"abs": 1, "clip": 3, "is_null": 1}
Row = Mapping[str, Any]
Compiled = Callable[[Row], Any]

_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}
_SAFE_BUILTINS = {"min": min, "max": max, "abs": abs, "float": float, "frozenset": frozenset}
_CMP_SYMBOL = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
}
_CMP = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


# ----------------------------------------------------------------------------- Python
def _const(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    return repr(value)


class _Source:
    """Python source for a checked node, with the null rules above; temporaries are unique."""

    def __init__(self, ref: Callable[[str], str]) -> None:
        self.ref = ref
        self.count = 0

    def temp(self) -> str:
        self.count += 1
        return f"_t{self.count}"

    def binary(self, a: ast.expr, b: ast.expr, body: str, guard: str = "") -> str:
        x, y = self.temp(), self.temp()
        extra = f" or {guard.format(x=x, y=y)}" if guard else ""
        return (
            f"(None if ({x} := {self.of(a)}) is None or ({y} := {self.of(b)}) is None{extra}"
            f" else {body.format(x=x, y=y)})"
        )

    def kleene(self, parts: list[ast.expr], is_and: bool) -> str:
        names = [self.temp() for _ in parts]
        decisive = "not " if is_and else ""
        out = f"(None if {' or '.join(f'{n} is None' for n in names)} else {is_and})"
        for n, part in reversed(list(zip(names, parts, strict=True))):
            out = f"({not is_and} if ({n} := {self.of(part)}) is not None and {decisive}{n} else {out})"
        return out

    def compare(self, node: ast.Compare) -> str:
        terms = [node.left, *node.comparators]
        names = [self.temp() for _ in terms]
        oks = []
        for k, op_node in enumerate(node.ops):
            a = f"({names[k]} := {self.of(terms[k])})" if k == 0 else names[k]
            b = f"({names[k + 1]} := {self.of(terms[k + 1])})"
            if isinstance(op_node, ast.In | ast.NotIn):
                word = "in" if isinstance(op_node, ast.In) else "not in"
                right = terms[k + 1]
                assert isinstance(right, ast.List | ast.Tuple)
                literal = "{" + ", ".join(_const(c.value) for c in right.elts) + "}"  # type: ignore[attr-defined]
                if k + 1 < len(node.ops):  # the list is compared again: bind it
                    literal = f"({names[k + 1]} := frozenset({literal}))"
                oks.append(f"(None if {a} is None else {names[k]} {word} {literal})")
            else:
                sym = _CMP_SYMBOL[type(op_node)]
                x, y = names[k], names[k + 1]
                oks.append(f"(None if {a} is None or {b} is None else {x} {sym} {y})")
        if len(oks) == 1:
            return oks[0]
        flags = [self.temp() for _ in oks]
        tests = " or ".join(f"({f} := {ok}) is False" for f, ok in zip(flags, oks, strict=True))
        unknown = " or ".join(f"{f} is None" for f in flags)
        return f"(False if {tests} else (None if {unknown} else True))"

    def of(self, node: ast.expr) -> str:  # noqa: PLR0911 (one branch per node kind)
        if isinstance(node, ast.Constant):
            return _const(node.value)
        if isinstance(node, ast.Name):
            return self.ref(node.id)
        if isinstance(node, ast.List | ast.Tuple):  # only as the right side of `in`
            values = sorted({c.value for c in node.elts if isinstance(c, ast.Constant)}, key=repr)
            return "frozenset((" + "".join(f"{_const(v)}, " for v in values) + "))"
        if isinstance(node, ast.UnaryOp):
            t = self.temp()
            op = "not " if isinstance(node.op, ast.Not) else "-"
            return f"(None if ({t} := {self.of(node.operand)}) is None else {op}{t})"
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Div):
                return self.binary(node.left, node.right, "{x} / {y}", "{y} == 0")
            sym = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}[type(node.op)]
            return self.binary(node.left, node.right, f"{{x}} {sym} {{y}}")
        if isinstance(node, ast.BoolOp):
            return self.kleene(list(node.values), isinstance(node.op, ast.And))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.IfExp):
            t = self.temp()
            test, body, orelse = self.of(node.test), self.of(node.body), self.of(node.orelse)
            return f"({body} if ({t} := {test}) is not None and {t} else {orelse})"
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        name = node.func.id
        if name == "is_null":
            return f"({self.of(node.args[0])} is None)"
        names = [self.temp() for _ in node.args]
        if name == "coalesce":
            out = "None"
            for n, arg in reversed(list(zip(names, node.args, strict=True))):
                out = f"({n} if ({n} := {self.of(arg)}) is not None else {out})"
            return out
        nulls = " or ".join(
            f"({n} := {self.of(a)}) is None" for n, a in zip(names, node.args, strict=True)
        )
        call = {
            "abs": f"abs({names[0]})",
            "clip": f"min(max({', '.join(names[:2])}), {names[-1]})",
        }.get(name, f"{name}({', '.join(names)})")
        return f"(None if {nulls} else {call})"


def python_source(expression: Expression, ref: Callable[[str], str]) -> str:
    """The expression as Python source text; ``ref(name)`` gives the source of a variable.

    The policy engine inlines this into one generated function per policy.

    >>> e = parse_expression("a / b", dialect="policy")
    >>> python_source(e, lambda n: f"row[{n!r}]")
    "(None if (_t1 := row['a']) is None or (_t2 := row['b']) is None or _t2 == 0 else _t1 / _t2)"
    """
    return _Source(ref).of(expression._tree)


def _py(node: ast.expr) -> Compiled:
    """Compile a checked node to a function of a row mapping, through its source text."""
    source = _Source(lambda name: f"row[{name!r}]").of(node)
    compiled: Compiled = eval(f"lambda row: {source}", {"__builtins__": _SAFE_BUILTINS})
    return compiled


# ----------------------------------------------------------------------------- Polars
# Null results are written ``when(ok).then(value)`` (no ``otherwise``), never
# ``when(bad).then(None).otherwise(value)``: on an eager frame where every row is ``bad``,
# Polars 2.1 gives the latter as a one-row scalar, and combining it with another scalar
# expression (``abs(0) < min(a, b)``) then fails to broadcast.
def _any_null(args: list[pl.Expr]) -> pl.Expr:
    return pl.any_horizontal([a.is_null() for a in args])


def _pl(node: ast.expr) -> pl.Expr:  # noqa: PLR0911 (one branch per node kind)
    if isinstance(node, ast.Constant):
        return pl.lit(node.value)
    if isinstance(node, ast.Name):
        return pl.col(node.id)
    if isinstance(node, ast.UnaryOp):
        inner = _pl(node.operand)
        return inner.cast(pl.Boolean).not_() if isinstance(node.op, ast.Not) else -inner
    if isinstance(node, ast.BinOp):
        a, b = _pl(node.left), _pl(node.right)
        if isinstance(node.op, ast.Div):
            return pl.when(b != 0).then(a.cast(pl.Float64) / b)  # otherwise null (see below)
        combined: pl.Expr = _BIN[type(node.op)](a, b)
        return combined
    if isinstance(node, ast.BoolOp):
        parts = [_pl(v).cast(pl.Boolean) for v in node.values]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if isinstance(node.op, ast.And) else (out | p)
        return out
    if isinstance(node, ast.Compare):
        terms = [node.left, *node.comparators]
        pieces = []
        for k, op_node in enumerate(node.ops):
            a = _pl(terms[k])
            right = terms[k + 1]
            if isinstance(op_node, ast.In | ast.NotIn):
                assert isinstance(right, ast.List | ast.Tuple)
                values = [c.value for c in right.elts if isinstance(c, ast.Constant)]
                hit = a.is_in(values)
                hit = hit if isinstance(op_node, ast.In) else hit.not_()
                pieces.append(pl.when(a.is_not_null()).then(hit))
            else:
                pieces.append(_CMP[type(op_node)](a, _pl(right)))
        out = pieces[0]
        for p in pieces[1:]:
            out = out & p
        return out
    if isinstance(node, ast.IfExp):
        cond = _pl(node.test).cast(pl.Boolean).fill_null(False)
        return pl.when(cond).then(_pl(node.body)).otherwise(_pl(node.orelse))
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    args = [_pl(a) for a in node.args]
    name = node.func.id
    if name == "coalesce":
        return pl.coalesce(args)
    if name == "is_null":
        return args[0].is_null()
    if name == "abs":
        return args[0].abs()
    if name == "clip":
        x, lo, hi = args
        value = pl.min_horizontal(pl.max_horizontal(x, lo), hi)
    else:
        value = pl.min_horizontal(args) if name == "min" else pl.max_horizontal(args)
    return pl.when(_any_null(args).not_()).then(value)


# ----------------------------------------------------------------------------- checking
def _validate(node: ast.AST, text: str, names: set[str], dialect: str) -> None:
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
        names.add(node.id)
    elif isinstance(node, ast.UnaryOp):
        if not (isinstance(node.op, ast.USub) or (policy and isinstance(node.op, ast.Not))):
            raise bad(type(node.op).__name__)
        _validate(node.operand, text, names, dialect)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in (*_BIN, ast.Div):
            raise bad(type(node.op).__name__)
        _validate(node.left, text, names, dialect)
        _validate(node.right, text, names, dialect)
    elif policy and isinstance(node, ast.BoolOp):
        for operand in node.values:
            _validate(operand, text, names, dialect)
    elif policy and isinstance(node, ast.Compare):
        _validate(node.left, text, names, dialect)
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
            elif type(op) not in _CMP:
                raise bad(type(op).__name__)
            else:
                _validate(right, text, names, dialect)
    elif policy and isinstance(node, ast.IfExp):
        for part in (node.test, node.body, node.orelse):
            _validate(part, text, names, dialect)
    elif isinstance(node, ast.Call):
        funcs = _FUNCS[dialect]
        if not isinstance(node.func, ast.Name) or node.func.id not in funcs or node.keywords:
            raise bad(f"a call other than {', '.join(funcs)}")
        arity = _ARITY.get(node.func.id)
        if not node.args or (arity is not None and len(node.args) != arity):
            raise bad(f"{node.func.id} with {len(node.args)} arguments")
        for arg in node.args:
            _validate(arg, text, names, dialect)
    else:
        raise bad(type(node).__name__)


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed expression: the variables it reads, a row evaluator and a Polars expression."""

    text: str
    names: frozenset[str]
    dialect: str
    _tree: ast.expr
    _compiled: Compiled = field(repr=False, compare=False)

    def evaluate(self, row: Row) -> Any:
        """The value for one row (a mapping of variable name to value; None is null)."""
        return self._compiled(row)

    def to_polars(self) -> pl.Expr:
        """The same computation as a Polars expression over columns named like the variables."""
        return _pl(self._tree)


def parse_expression(text: str, *, dialect: str = "arithmetic") -> Expression:
    """Parse and check an expression; ``ValueError`` names what is not allowed."""
    if dialect not in DIALECTS:
        raise ValueError(f"dialect: expected one of {DIALECTS}, got {dialect!r}")
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"expression {text!r}: not valid syntax ({exc.msg})") from None
    names: set[str] = set()
    _validate(tree, text, names, dialect)
    return Expression(text, frozenset(names - set(_FUNCS[dialect])), dialect, tree, _py(tree))
