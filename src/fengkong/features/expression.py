"""The risk-variable spec's expressions: :mod:`fengkong.expression` in its arithmetic dialect.

>>> parse_expression("a / max(b, 1)").evaluate({"a": 3, "b": 0})
3.0
"""

from __future__ import annotations

from fengkong.expression import Expression
from fengkong.expression import parse_expression as _parse

__all__ = ["Expression", "parse_expression"]


def parse_expression(text: str) -> Expression:
    """Parse an arithmetic expression (numbers, variables, + - * /, min, max, abs, coalesce)."""
    return _parse(text, dialect="arithmetic")
