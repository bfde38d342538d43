"""A small, safe expression language compiled to a Python closure and to a Polars expression.

One implementation, two dialects:

* ``"arithmetic"`` (risk-variable specs): numbers, variable names, ``+ - * /``, unary minus,
  parentheses and ``min``, ``max``, ``abs``, ``coalesce``;
* ``"policy"`` (decision policies) adds strings, ``True``/``False``/``None``, comparisons
  (``< <= > >= == !=``, chained), ``in`` / ``not in`` a literal list, ``and`` / ``or`` /
  ``not``, ``x if cond else y``, and the functions ``clip(x, lo, hi)`` and ``is_null(x)``.

Nothing else parses: no attribute access, subscripts, other calls, lambdas or comprehensions;
``min``/``max`` take two arguments or more, ``abs`` and ``is_null`` one, ``clip`` three. An
expression is bounded in characters, depth and parts (:class:`ExpressionLimits`), so a hostile
one is refused with a message, never a ``RecursionError``. The text is data: variables reach
generated code only through the caller's ``ref`` (internal ids), constants through ``repr``.

Null rules, identical in both backends (property tests hold them together):

* arithmetic, comparisons, ``in``, ``min``/``max``/``abs``/``clip``: any null operand gives null;
  division by zero gives null; ``/`` is true division;
* ``coalesce``: the first non-null argument; ``is_null(x)``: true or false, never null;
* ``and`` / ``or`` / ``not``: three-valued (Kleene) logic — ``False and null`` is false,
  ``True or null`` is true, otherwise null propagates;
* ``a if cond else b``: ``b`` unless ``cond`` is true (a null condition takes ``b``).

Typed expressions (the policy engine types every one against its declared inputs) also have
one numeric semantics: ``integer`` is int64 and ``number`` float64; an integer meeting a number
is converted to a float first; an integer result outside int64 (``n * n`` for a large ``n``) and
a number result that is not finite (``1e308 * 10``; ``inf - inf``) are null — the same rule as
division by zero. Texts compare only with ``==``, ``!=`` and ``in``, and ``+`` joins two texts;
only numbers and dates are ordered; booleans are the only conditions; a text never meets a
number; ``in`` is never part of a chain of comparisons.

Examples
--------
>>> e = parse_expression("app_cnt_person_7d / max(app_cnt_person_30d, 1)")
>>> e.evaluate({"app_cnt_person_7d": 3, "app_cnt_person_30d": 0})
3.0
>>> rule = parse_expression("age < 18 or channel in ['h5', 'partner_api']", dialect="policy",
...                         types={"age": "integer", "channel": "text"})
>>> sorted(rule.names), rule.type, rule.evaluate({"age": 30, "channel": "h5"})
(['age', 'channel'], 'boolean', True)
>>> rule.evaluate({"age": None, "channel": "app"}) is None
True
>>> parse_expression("channel < 1", dialect="policy", types={"channel": "text"})
Traceback (most recent call last):
...
ValueError: expression 'channel < 1': type mismatch: text < integer (compare like with like) in 'channel < 1'
>>> parse_expression("x.__class__")
Traceback (most recent call last):
...
ValueError: expression 'x.__class__': Attribute is not allowed (expected numbers, variables, + - * /, min, max, abs, coalesce)
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from fengkong.expression._parse import (
    DIALECTS,
    Dialect,
    Expression,
    ExpressionLimits,
    parse_expression,
)
from fengkong.expression._python import python_source as _tree_source
from fengkong.expression._typing import TYPES, Type

__all__ = [
    "DIALECTS",
    "TYPES",
    "Dialect",
    "Expression",
    "ExpressionLimits",
    "Type",
    "parse_expression",
    "python_source",
]


def python_source(expression: Expression, ref: Callable[[str], str]) -> str:
    """The expression as Python source text; ``ref(name)`` gives the source of a variable.

    The policy engine inlines this into one generated function per policy, with ``ref``
    mapping each name to an internal id.

    >>> e = parse_expression("a / b", dialect="policy")
    >>> python_source(e, lambda n: f"row[{n!r}]")
    "(None if (_t1 := row['a']) is None or (_t2 := row['b']) is None or _t2 == 0 else _t1 / _t2)"
    """
    tree: ast.expr = expression._tree
    return _tree_source(tree, ref)
